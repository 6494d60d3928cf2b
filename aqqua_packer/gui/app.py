"""Start the desktop wizard: ``aqqua-packer gui``, ``aqqua-packer demo`` or ``aqqua-packer-gui``."""

from __future__ import annotations

import logging
import sys
import traceback

log = logging.getLogger("aqqua_packer.gui")


def _excepthook(exc_type, exc, tb) -> None:
    """An unexpected error in a UI handler: log it for support, tell the user in one line."""
    log.error("unexpected error:\n%s", "".join(traceback.format_exception(exc_type, exc, tb)))
    try:
        from PySide6.QtWidgets import QApplication, QMessageBox

        from .widgets.logview import log_file

        if QApplication.instance() is not None:
            QMessageBox.critical(
                None,
                "Something went wrong",
                f"{exc_type.__name__}: {exc}\n\nNothing already packed or sent is lost. Details for support are in {log_file()}.",
            )
    except Exception:  # never fail while reporting a failure
        pass


def main(argv: list[str] | None = None, *, demo: bool = False) -> int:
    """Open the main window (on the sample data with ``demo``) and run until it is closed."""
    from ..problems import UserError
    from .screen import need_a_screen

    if (
        "PySide6.QtWidgets" not in sys.modules
        or sys.modules["PySide6.QtWidgets"].QApplication.instance() is None
    ):
        try:
            need_a_screen("gui")
        except UserError as exc:  # before Qt aborts with its own message
            print(f"aqqua-packer: {exc}", file=sys.stderr)
            return exc.exit_code
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from .. import __version__
    from .main_window import MainWindow, app_icon, demo_project_path
    from .widgets.logview import install_file_log

    argv = list(sys.argv if argv is None else [sys.argv[0] if sys.argv else "aqqua-packer", *argv])
    if "--demo" in argv:
        demo = True
        argv.remove("--demo")
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName("AqQua Packer")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("AqQua")
    app.setWindowIcon(app_icon())
    install_file_log()
    root = logging.getLogger()
    if (
        root.level > logging.INFO
    ):  # unless -v: a terminal shows warnings only; the log view shows all
        for h in root.handlers:
            if isinstance(h, logging.StreamHandler) and h.level == logging.NOTSET:
                h.setLevel(logging.WARNING)
    sys.excepthook = _excepthook
    log.info("AqQua Packer %s started%s", __version__, " (demo)" if demo else "")
    if demo:  # a project of its own, so the user's saved project stays as it was
        window = MainWindow(offer_continue=False, project_file=demo_project_path())
        window.load_sample_data()
    else:
        window = MainWindow()
    window.show()
    return int(app.exec())


if __name__ == "__main__":
    raise SystemExit(main())
