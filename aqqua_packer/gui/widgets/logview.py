"""The log view for support: every log record of the app, in the UI thread, also in a file."""

from __future__ import annotations

import logging
import os
import sys
from logging.handlers import RotatingFileHandler

from PySide6.QtCore import QObject, QtMsgType, Signal, qInstallMessageHandler
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QPlainTextEdit

from ..project import home_dir


class _Relay(QObject):
    record = Signal(str)


class QtLogHandler(logging.Handler):
    """Forwards records through a queued signal: safe to log from worker threads."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.relay = _Relay()
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.relay.record.emit(self.format(record))
        except RuntimeError:  # the view is gone (shutdown)
            pass


class LogView(QPlainTextEdit):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(5000)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setPlaceholderText("What the app does is logged here; send it with a support request.")
        self.handler = QtLogHandler()
        self.handler.relay.record.connect(self.appendPlainText)
        logger = logging.getLogger("aqqua_packer")
        logger.addHandler(self.handler)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)  # the view is for support: show what the app did

    def detach(self) -> None:
        logging.getLogger("aqqua_packer").removeHandler(self.handler)


def log_file() -> str:
    return str(home_dir() / "logs" / "aqqua-packer-gui.log")


def install_file_log() -> logging.Handler | None:
    """Keep the GUI's log in a file too, so support can ask for it after the window is closed."""
    path = log_file()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        h = RotatingFileHandler(path, maxBytes=2_000_000, backupCount=2, encoding="utf-8")
    except OSError:
        return None
    h.setLevel(logging.INFO)
    h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("aqqua_packer")
    logger.addHandler(h)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)
    return h


# Qt's own warnings that say nothing to a user (the offscreen platform cannot resize windows).
HARMLESS_QT_MESSAGES = ("propagateSizeHints",)
_qt_handler_installed = False


def route_qt_messages() -> None:
    """Qt's messages go to the log (view and file) instead of a terminal nobody sees; the few that
    are known to be harmless are kept at debug level, so a clean run leaves stderr empty."""
    global _qt_handler_installed
    if _qt_handler_installed:
        return
    _qt_handler_installed = True
    logger = logging.getLogger("aqqua_packer.qt")
    previous = None

    def handler(mode, context, message: str) -> None:
        if any(h in message for h in HARMLESS_QT_MESSAGES):
            logger.debug("%s", message)
            return
        logger.info("%s", message)
        if previous is not None:
            previous(mode, context, message)
        elif mode in (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg):
            sys.stderr.write(f"Qt: {message}\n")

    previous = qInstallMessageHandler(handler)
