"""The main window: a six-step wizard with a step list, menus, a log view and autosave.

Programmatic API (the smoke test and tests drive it like a user would):
``MainWindow()``; ``window.add_sources([...])``; ``window.load_sample_data()``;
``window.wizard.next()`` / ``back()`` / ``go_to(i)``; ``window.pages.<about|sources|mapping|
preview|pack|send>``; signals ``pack_finished(result)`` and ``send_finished(result)``.
"""

from __future__ import annotations

import logging
import platform
import sys
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from .. import __version__
from ..resources import resources_dir, sample_data_dir
from .pages import STEP_TITLES
from .pages.about import AboutPage
from .pages.mapping import MappingPage
from .pages.pack import PackPage
from .pages.preview import PreviewPage
from .pages.send import SendPage
from .pages.sources import SourcesPage
from .project import Project, Settings, home_dir, project_path
from .session import Session
from .widgets.logview import LogView, log_file, route_qt_messages
from .workers import start_low_priority_process_server

log = logging.getLogger("aqqua_packer.gui")


def demo_project_path() -> Path:
    return home_dir() / "demo-project.json"


def app_icon() -> QIcon:
    icon = QIcon()
    d = resources_dir() / "icons"
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        p = d / f"aqqua-packer-{size}.png"
        if p.is_file():
            icon.addFile(str(p), QSize(size, size))
    svg = d / "aqqua-packer.svg"
    if icon.isNull() and svg.is_file():
        icon.addFile(str(svg))
    return icon


class Pages:
    """The six pages by name."""

    def __init__(self, session: Session):
        self.about = AboutPage(session)
        self.sources = SourcesPage(session)
        self.mapping = MappingPage(session)
        self.preview = PreviewPage(session)
        self.pack = PackPage(session)
        self.send = SendPage(session)

    def __iter__(self):
        return iter((self.about, self.sources, self.mapping, self.preview, self.pack, self.send))


class Wizard(QWidget):
    """Step list on the left, the page in the middle, Back/Next below with the reason Next is off."""

    pageChanged = Signal(int)

    def __init__(self, session: Session, pages: Pages, parent=None):
        super().__init__(parent)
        self.session = session
        self.pages = list(pages)
        h = QHBoxLayout(self)
        h.setContentsMargins(0, 0, 0, 0)
        h.setSpacing(0)
        self.steps = QListWidget()
        self.steps.setFixedWidth(236)
        self.steps.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.steps.setFrameShape(QFrame.Shape.NoFrame)
        self.steps.setStyleSheet(
            "QListWidget{background:#eef3f8;padding-top:12px;font-size:10pt}"
            "QListWidget::item{padding:9px 10px}"
            "QListWidget::item:selected{background:#2c6fb7;color:white}"
            "QListWidget::item:disabled{color:#9aa5b1}"
        )
        for i, t in enumerate(STEP_TITLES, start=1):
            self.steps.addItem(QListWidgetItem(f"{i}.  {t}"))
        h.addWidget(self.steps)
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget()
        for p in self.pages:
            self.stack.addWidget(p)
            p.completeChanged.connect(self._update_nav)
        right.addWidget(self.stack, 1)
        nav = QHBoxLayout()
        nav.setContentsMargins(16, 6, 16, 10)
        self.reason = QLabel("")
        self.reason.setStyleSheet("color:#8a5300")
        self.reason.setWordWrap(True)
        self.back_btn = QPushButton("◀  Back")
        self.next_btn = QPushButton("Next  ▶")
        self.next_btn.setDefault(True)
        self.back_btn.setToolTip("The previous step (Alt+Left)")
        self.next_btn.setToolTip("The next step (Alt+Right); available once this step is complete")
        nav.addWidget(self.reason, 1)
        nav.addWidget(self.back_btn)
        nav.addWidget(self.next_btn)
        right.addLayout(nav)
        h.addLayout(right, 1)
        self.back_btn.clicked.connect(self.back)
        self.next_btn.clicked.connect(self.next)
        self.steps.currentRowChanged.connect(self._step_clicked)
        self._index = -1
        self._show(0)

    # --- navigation --------------------------------------------------------------------------
    @property
    def index(self) -> int:
        return self._index

    @property
    def current(self):
        return self.pages[self._index]

    def can_go_to(self, i: int) -> bool:
        """Backwards always; forwards only across complete pages."""
        if not 0 <= i < len(self.pages):
            return False
        if i <= self._index:
            return True
        return all(p.is_complete() for p in self.pages[self._index : i])

    def next(self) -> bool:
        return self.go_to(self._index + 1)

    def back(self) -> bool:
        return self.go_to(self._index - 1)

    def go_to(self, i: int, *, force: bool = False) -> bool:
        if not force and not self.can_go_to(i):
            self._update_nav()
            return False
        if i == self._index:
            return True
        if self._index >= 0:
            self.current.leave()
        self._show(i)
        return True

    def _show(self, i: int) -> None:
        self._index = i
        self.stack.setCurrentIndex(i)
        self.steps.blockSignals(True)
        self.steps.setCurrentRow(i)
        self.steps.blockSignals(False)
        self.session.project.step = i
        self.session.touch()
        self.current.enter()
        self._update_nav()
        self.pageChanged.emit(i)

    def _step_clicked(self, row: int) -> None:
        if not self.go_to(row):
            self.steps.blockSignals(True)
            self.steps.setCurrentRow(self._index)
            self.steps.blockSignals(False)

    def _update_nav(self) -> None:
        if self._index < 0:
            return
        why = self.current.blocker()
        last = self._index == len(self.pages) - 1
        self.next_btn.setVisible(not last)
        self.next_btn.setEnabled(not why)
        self.back_btn.setEnabled(self._index > 0)
        self.reason.setText(why)
        for k in range(len(self.pages)):
            item = self.steps.item(k)
            flags = item.flags()
            on = self.can_go_to(k)
            item.setFlags(
                flags | Qt.ItemFlag.ItemIsEnabled if on else flags & ~Qt.ItemFlag.ItemIsEnabled
            )


class MainWindow(QMainWindow):
    pack_finished = Signal(object)
    send_finished = Signal(object)

    def __init__(
        self,
        project: Project | None = None,
        *,
        offer_continue: bool = True,
        project_file: Path | None = None,
        parent=None,
    ):
        super().__init__(parent)
        # Background threads run Python too; hand the GIL back to the UI thread within 1 ms
        # (default 5 ms, paid at every Python <-> Qt crossing) so the window never stutters.
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
        start_low_priority_process_server()
        route_qt_messages()
        self.setWindowTitle("AqQua Packer")
        self.setWindowIcon(app_icon())
        self.settings = Settings()
        self.log_view = LogView()
        dock = QDockWidget("Log", self)
        dock.setObjectName("log")
        dock.setWidget(self.log_view)
        dock.setAllowedAreas(
            Qt.DockWidgetArea.BottomDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        dock.hide()
        self.log_dock = dock

        self._autosave = QTimer(self, singleShot=True, interval=400)
        self._autosave.timeout.connect(self.autosave)
        self.project_file: Path = project_file or project_path()
        saved = Project.load() if (project is None and offer_continue) else None
        self._build(project or Project())
        self._make_menus()
        self.statusBar().showMessage(
            f"AqQua Packer {__version__} — projects are saved as you go in {home_dir()}"
        )
        if saved is not None and saved.worth_continuing:
            self._offer_continue(saved)
        self.resize(1280, 800)

    # --- building --------------------------------------------------------------------------
    def _build(self, project: Project) -> None:
        old = self.centralWidget()
        if old is not None and hasattr(self, "session"):
            self._stop_workers()
            self.session.shutdown()
        self.session = Session(project, self.settings, parent=self)
        self.pages = Pages(self.session)
        self.wizard = Wizard(self.session, self.pages)
        central = QWidget()
        v = QVBoxLayout(central)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(0)
        self.banner = QFrame()
        self.banner.setStyleSheet("QFrame{background:#fff6d6;border-bottom:1px solid #e0c870}")
        bh = QHBoxLayout(self.banner)
        bh.setContentsMargins(16, 8, 16, 8)
        self.banner_text = QLabel("")
        self.banner_text.setWordWrap(True)
        self.continue_btn = QPushButton("Continue")
        self.discard_btn = QPushButton("Start a new project")
        bh.addWidget(self.banner_text, 1)
        bh.addWidget(self.continue_btn)
        bh.addWidget(self.discard_btn)
        self.banner.hide()
        v.addWidget(self.banner)
        v.addWidget(self.wizard, 1)
        self.setCentralWidget(central)
        if old is not None:
            old.deleteLater()
        self.session.changed.connect(self._autosave.start)
        self.session.check_failed.connect(
            lambda msg: self.statusBar().showMessage(f"Check failed: {msg}", 15000)
        )
        self.session.mapped_changed.connect(self.pages.pack._update)
        self.pages.preview.fix_requested.connect(lambda: self.wizard.go_to(2))
        self.pages.pack.pack_finished.connect(self.pack_finished)
        self.pages.send.send_finished.connect(self.send_finished)
        self.pages.sources.sample_requested.connect(self.start_demo)
        self.pages.about.dataset_chosen.connect(
            lambda path: (self.add_sources([path]), self.wizard.go_to(1, force=True))
        )
        self.pages.sources.scanned.connect(
            lambda: self.statusBar().showMessage("Scan finished.", 5000)
        )

    def _offer_continue(self, saved: Project) -> None:
        self._saved = saved
        self.banner_text.setText(f"<b>Continue where you left off?</b> {saved.summary()}")
        self.continue_btn.clicked.connect(self.continue_saved)
        self.discard_btn.clicked.connect(self._start_fresh)
        self.banner.show()

    def _start_fresh(self) -> None:
        """ "Start a new project" on the banner: the saved one is about to be overwritten by the
        autosave, so a copy is kept first (nothing entered is lost without a question)."""
        self.banner.hide()
        saved = getattr(self, "_saved", None)
        if saved is None:
            return
        where = home_dir() / "previous-project.json"
        try:
            saved.save(where)
        except OSError as exc:
            log.warning("cannot keep a copy of the project: %s", exc)
            return
        self.statusBar().showMessage(
            f"The earlier project is kept as {where}; File › Open project… brings it back.", 20000
        )

    def continue_saved(self) -> None:
        """Reopen the autosaved project: rescan its sources and return to its step."""
        saved = getattr(self, "_saved", None) or Project.load()
        if saved is None:
            return
        self.open_project(saved)

    def open_project(self, project: Project) -> None:
        step = project.step
        self._build(project)
        self.banner.hide()
        self.pages.sources.rescan_all()
        self.wizard.go_to(step, force=True)
        log.info("project reopened at step %d", step + 1)

    # --- menus -------------------------------------------------------------------------------
    def _act(self, menu, text, slot, shortcut=None, tip="") -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(tip)
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    def _make_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self._act(
            f,
            "&New project",
            lambda: self.new_project(),
            QKeySequence.StandardKey.New,
            "Start again with an empty project",
        )
        self._act(
            f,
            "&Open project…",
            self._open_dialog,
            QKeySequence.StandardKey.Open,
            "Open a project saved earlier",
        )
        self._act(
            f,
            "&Save project",
            self.save_project,
            QKeySequence.StandardKey.Save,
            "Projects are saved as you go; this saves now",
        )
        self._act(f, "Save project &as…", self._save_as_dialog, QKeySequence.StandardKey.SaveAs)
        f.addSeparator()
        self._act(
            f,
            "Add &folder…",
            lambda: (self.wizard.go_to(1), self.pages.sources._choose_folder()),
            "Ctrl+Shift+F",
        )
        self._act(
            f,
            "Add &zip or files…",
            lambda: (self.wizard.go_to(1), self.pages.sources._choose_files()),
            "Ctrl+Shift+O",
        )
        self._act(
            f,
            "&Try with sample data",
            self.start_demo,
            None,
            "Run the whole flow on 40 bundled example images",
        )
        f.addSeparator()
        self._act(
            f,
            "&Export gap report…",
            self.pages_export,
            "Ctrl+E",
            "Save the list of problems as CSV",
        )
        f.addSeparator()
        self._act(f, "&Quit", self.close, "Ctrl+Q")
        self.file_menu = f

        g = mb.addMenu("&Go")
        self._act(g, "&Back", self.wizard_back, "Alt+Left")
        self._act(g, "&Next", self.wizard_next, "Alt+Right")
        g.addSeparator()
        for i, t in enumerate(STEP_TITLES):
            self._act(
                g, f"&{i + 1}  {t}", lambda _=False, i=i: self.wizard.go_to(i), f"Ctrl+{i + 1}"
            )

        v = mb.addMenu("&View")
        la = self.log_dock.toggleViewAction()
        la.setText("&Log")
        la.setShortcut(QKeySequence("Ctrl+L"))
        v.addAction(la)

        h = mb.addMenu("&Help")
        self._act(h, "&How it works", self.show_help, QKeySequence.StandardKey.HelpContents)
        self._act(
            h,
            "Open the &log folder",
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(log_file()).parent))),
        )
        self._act(h, "&About AqQua Packer", self.show_about)

    def wizard_next(self) -> None:
        self.wizard.next()

    def wizard_back(self) -> None:
        self.wizard.back()

    def pages_export(self) -> None:
        self.wizard.go_to(3)
        self.pages.preview._export()

    # --- the programmatic API --------------------------------------------------------------
    def add_sources(self, paths) -> None:
        """Add folders, zips or files and scan them in the background (as drag and drop does)."""
        self.pages.sources.add_sources(paths)

    def load_sample_data(self) -> None:
        """ "Try with sample data": example answers where the first page is empty, plus the
        bundled images; then the Sources page."""
        about = self.pages.about
        if not about.contributor.text() or not about.email.text():
            about.remember = False  # example answers are not the user's: do not remember them
        if not about.contributor.text():
            about.contributor.setText("Sample Contributor")
        if not about.email.text():
            about.email.setText("sample@example.org")
        if not about.name.text():
            about.name.setText("AqQua sample data")
        if not about.institution.text():
            about.institution.setText("AqQua Packer demo")
        self.add_sources([sample_data_dir()])
        self.wizard.go_to(1, force=True)

    def start_demo(self) -> None:
        """A separate project on the sample data; the user's own project stays saved, untouched,
        and is offered again at the next start."""
        self.save_project()
        self.project_file = demo_project_path()
        self._build(Project())
        self.load_sample_data()

    # --- project files ---------------------------------------------------------------------
    def autosave(self) -> None:
        self.session.project.save_in_background(self.project_file)

    def save_project(self) -> None:
        try:
            self.session.project.save(self.project_file)
        except OSError as exc:
            self.statusBar().showMessage(f"Cannot save the project: {exc.strerror or exc}", 10000)

    def new_project(self, ask: bool = True) -> bool:
        """Start an empty project.  A project with sources or a mapping is not dropped without a
        question; when the user agrees, a copy is kept as previous-project.json."""
        p = self.session.project
        if (p.sources or p.mapping) and ask and not self.confirm_new_project():
            return False
        if p.sources or p.mapping:
            try:
                p.save(home_dir() / "previous-project.json")
            except OSError as exc:
                log.warning("cannot keep a copy of the project: %s", exc)
        self._build(Project())
        self.project_file = project_path()
        self.save_project()
        return True

    def confirm_new_project(self) -> bool:
        p = self.session.project
        name = p.dataset.get("name") or "unnamed dataset"
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Start a new project?")
        box.setText(
            f"The project “{name}” has {len(p.sources)} source(s) and your choices on the Map page. "
            "A new project starts empty."
        )
        box.setInformativeText(
            "A copy of this one is kept; File › Open project… brings it back "
            f"({home_dir() / 'previous-project.json'})."
        )
        new = box.addButton("Start a new project", QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton("Keep working on this one", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        self.new_project_question = box  # tests answer it as a user does
        box.exec()
        self.new_project_question = None
        return box.clickedButton() is new

    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a project", str(home_dir()), "AqQua Packer projects (*.json)"
        )
        if path:
            p = Project.load(Path(path))
            if p is None:
                QMessageBox.warning(self, "Cannot open", f"{path} is not an AqQua Packer project.")
                return
            self.project_file = Path(path)
            self.open_project(p)

    def _save_as_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Save the project as",
            str(home_dir() / "project.json"),
            "AqQua Packer projects (*.json)",
        )
        if path:
            self.project_file = Path(path)
            self.save_project()

    # --- help --------------------------------------------------------------------------------
    def show_about(self) -> None:
        from PySide6 import __version__ as pyside_version

        QMessageBox.about(self, "About AqQua Packer", self.about_text(pyside_version))

    def about_text(self, pyside_version: str = "") -> str:
        return (
            f"<h3>AqQua Packer {__version__}</h3>"
            "<p>Packs plankton images and their metadata into the AqQua Data Format and sends them to AqQua.</p>"
            f"<p>Python {platform.python_version()}, Qt for Python {pyside_version}, {platform.system()} {platform.release()}</p>"
            f"<p>Settings, projects and logs: {home_dir()}</p>"
        )

    def show_help(self) -> None:
        """F1: the lab guide in a window (docs/guide.md without its command-line part)."""
        from .help import HelpDialog

        self.help_dialog = HelpDialog(self)
        self.help_dialog.show()

    # --- closing -----------------------------------------------------------------------------
    def _stop_workers(self) -> None:
        pages = getattr(self, "pages", None)
        if pages is None:
            return
        for page in pages:
            w = getattr(page, "worker", None)
            if w is not None:
                w.cancel()
        for page in pages:
            w = getattr(page, "worker", None)
            if w is not None:
                w.wait(30000)
        pages.preview.grid.model_.shutdown()

    def closeEvent(self, ev) -> None:
        self._stop_workers()
        self.session.shutdown()
        self._autosave.stop()
        self.save_project()
        self.log_view.detach()
        super().closeEvent(ev)
