"""Take the README's screenshots: every wizard page at 1280×800, on the bundled sample data.

Run under a virtual X server, as CI machines and the README's maintainers do:

    Xvfb :99 -screen 0 1280x800x24 &  DISPLAY=:99 python docs/screenshots/take_screenshots.py

(with QT_QPA_PLATFORM=offscreen it also works without X).  Settings and the package go to a
temporary folder; nothing of the user's is read or changed.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="aqqua-shots-"))
    os.environ["AQQUA_PACKER_HOME"] = str(tmp / "home")
    from PySide6.QtWidgets import QApplication

    from aqqua_packer.gui.main_window import MainWindow, app_icon
    from aqqua_packer.mapping import FieldSpec

    app = QApplication.instance() or QApplication(sys.argv)
    app.setWindowIcon(app_icon())
    w = MainWindow(offer_continue=False)
    w.resize(1280, 800)
    w.show()

    def spin(seconds: float, until=None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)
            if until is not None and until():
                break
        app.processEvents()

    def shot(name: str) -> None:
        spin(0.3)
        w.grab().save(str(HERE / f"{name}.png"))
        print("wrote", HERE / f"{name}.png")

    a = w.pages.about
    a.contributor.setText("Dr. Jana Meier")
    a.institution.setText("Alfred Wegener Institute, Helgoland")
    a.email.setText("jana.meier@example.org")
    a.coauthors.setPlainText("Tom Berger\nAmina Diallo")
    a.name.setText("Helgoland Roads zooplankton, June 2025")
    a.instrument.setCurrentText("ZooScan")
    a.interp.setChecked(True)
    a.volume.setText("0.0021")
    shot("1-about")

    w.wizard.next()
    w.add_sources([Path(__file__).resolve().parent.parent.parent / "resources" / "sample-data"])
    spin(30, lambda: not w.pages.sources.busy())
    shot("2-sources")

    w.wizard.next()
    spin(10, lambda: w.session.mapped is not None and not w.session.checking)
    m = w.pages.mapping
    for name, spec in {
        "datetime": FieldSpec(column="date_time_utc"),
        "depth": FieldSpec(column="depth_m", unit="m"),
        "pixel_size": FieldSpec(column="pixel_size_um", unit="um"),
    }.items():
        m.set_field(name, spec)
    spin(10, lambda: not w.session.checking)
    shot("3-map-fields")

    w.wizard.next()
    p = w.pages.preview
    p.set_ready_only(True)
    shot("4-preview-problems")
    p.tabs.setCurrentIndex(1)
    spin(3, lambda: p.grid.model_.loads >= 40)
    shot("4-preview-images")
    p.tabs.setCurrentIndex(2)
    shot("4-preview-where-and-when")
    p.tabs.setCurrentIndex(0)

    w.wizard.next()
    pk = w.pages.pack
    pk.out.setText(str(tmp / "AqQua-packages" / "helgoland-roads-2025-06"))
    done = []
    w.pack_finished.connect(done.append)
    pk.start()
    spin(120, lambda: bool(done))
    shot("5-pack")

    w.wizard.next()
    s = w.pages.send
    drive = tmp / "AqQua-drive"
    drive.mkdir()
    s.set_destination({"kind": "folder", "folder": str(drive)})
    sent = []
    w.send_finished.connect(sent.append)
    s.start()
    spin(60, lambda: bool(sent))
    shot("6-send")
    s.set_destination(
        {
            "kind": "sftp",
            "host": "upload.aqqua.example.org",
            "user": "helgoland",
            "path": "incoming",
        }
    )
    s.account.clear()
    s.test_result.setText("")
    shot("6-send-sftp-form")

    w.wizard.go_to(4)
    w.log_dock.show()
    shot("log-view")
    w.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
