"""Help › How it works (F1): the lab guide (docs/guide.md) in a window, with its screenshots.

The command-line section is left out here (no window text names a command-line flag); a frozen
build without docs/ shows the short version below.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

SHORT = """# How it works

1. **About you**: who sends the data, under which licence. Remembered for next time.
2. **Sources**: the folders, zips or files with your images and tables, as the instrument wrote them.
3. **Map fields**: where date and time, position, depth and pixel size are. A suggestion marked
   ⚠ deserves a second look; hover over it for the reason.
4. **Preview gaps**: what is missing or wrong, before anything is written.
5. **Pack**: write the package on this computer. Stopping is safe; *Resume* continues.
6. **Send**: upload it, or copy it to a drive. Every file is checked at the other end.

AqQua needs, for every image, when and where it was taken and the size of its pixels, so that
images from every instrument can be put on one map and one time axis.

Images are stored as their decoded pixels, compressed without loss: a folder of JPEG crops makes a
larger package than the JPEGs. Everything is saved as you go: closing the app and opening it again
continues where you left off. Hover over any field for an explanation.
"""


def guide_path() -> Path:
    return Path(__file__).resolve().parents[2] / "docs" / "guide.md"


def guide_markdown() -> str:
    """The guide without its command-line section, or the short version."""
    try:
        text = guide_path().read_text(encoding="utf-8")
    except OSError:
        return SHORT
    return text.split("\n## Without a window")[0]


class HelpDialog(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("How AqQua Packer works")
        self.resize(900, 680)
        v = QVBoxLayout(self)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setSearchPaths([str(guide_path().parent)])
        self.browser.setMarkdown(guide_markdown())
        v.addWidget(self.browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        v.addWidget(buttons)
