"""What every wizard page is: a widget that knows whether the user may go on, and why not."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..session import Session


class Page(QWidget):
    """A wizard step.  ``blocker()`` says in plain words what is still needed ("" = may go on);
    ``completeChanged`` is emitted whenever that may have changed."""

    title = ""
    subtitle = ""
    completeChanged = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.outer = QVBoxLayout(self)
        self.outer.setContentsMargins(16, 12, 16, 8)
        head = QLabel(
            f"<h2 style='margin:0'>{self.title}</h2><div style='color:#555'>{self.subtitle}</div>"
        )
        head.setWordWrap(True)
        self.outer.addWidget(head)

    def blocker(self) -> str:
        return ""

    def is_complete(self) -> bool:
        return not self.blocker()

    def enter(self) -> None:
        """Called when the page is shown."""

    def leave(self) -> None:
        """Called when the user moves on; save what the page holds into the project."""

    def busy(self) -> bool:
        """True while the page runs a background operation the user should not walk away from."""
        return False
