"""“My data is on EcoTaxa”: log in, tick projects, then share them with AqQua (a dry run first,
then the change, then the result per project) or download them to pack.  The work is in
aqqua_packer/ecotaxa/; here it runs in workers, off the UI thread.  What was shared is kept in the
saved project, so the wizard can remind the user to take the access back."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from ..workflow import ACCESS, AQQUA_EMAIL, DEFAULT_SERVER, person, right_of
from .widgets.progress import ProgressPanel
from .workers import Worker

COLUMNS = (
    "",
    "ID",
    "Title",
    "Instrument",
    "Objects",
    "% validated",
    "Access",
    "Contact",
    "Your right",
    "AqQua can see",
)
REMINDER = (
    "AqQua can see {n} of your EcoTaxa project(s). Once AqQua confirms it has downloaded the data, "
    "come back here and click “Take back AqQua's access”."
)


def sharing_reminder(state: dict) -> str:
    shared = (state or {}).get("shared") or {}
    return REMINDER.format(n=len(shared)) if shared else ""


class EcoTaxaDialog(QDialog):
    downloaded = Signal(list)  # folders holding the downloaded exports, to add as sources

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("My data is on EcoTaxa")
        self.resize(980, 620)
        state = session.project.ecotaxa or {}
        v = QVBoxLayout(self)
        intro = QLabel(
            "Log in to EcoTaxa with your own account. Then tick projects and either give the "
            f"AqQua account ({AQQUA_EMAIL}) permission to <b>view</b> them, or download them "
            "here to pack. Your password is not saved in the project."
        )
        intro.setWordWrap(True)
        v.addWidget(intro)
        form = QFormLayout()
        self.server = QLineEdit(state.get("server") or DEFAULT_SERVER)
        self.email = QLineEdit(state.get("user") or "")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("not needed while EcoTaxa still knows this computer")
        form.addRow("EcoTaxa server", self.server)
        form.addRow("Your e-mail", self.email)
        form.addRow("Password", self.password)
        v.addLayout(form)
        row = QHBoxLayout()
        self.login_btn = QPushButton("Log in and list my projects")
        row.addWidget(self.login_btn)
        row.addStretch(1)
        v.addLayout(row)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        v.addWidget(self.table, 2)

        row = QHBoxLayout()
        self.share_btn = QPushButton("Share with AqQua…")
        self.share_btn.setToolTip(
            "Shows first what would change; nothing is changed until you confirm."
        )
        self.unshare_btn = QPushButton("Take back AqQua's access…")
        self.download_btn = QPushButton("Download and pack…")
        self.download_btn.setToolTip(
            "Exports the ticked projects with their images (needs Manage)."
        )
        self.confirm_btn = QPushButton("Do it")
        self.confirm_btn.setVisible(False)
        for b in (self.share_btn, self.unshare_btn, self.download_btn):
            b.setEnabled(False)
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.confirm_btn)
        v.addLayout(row)

        self.results = QPlainTextEdit()
        self.results.setReadOnly(True)
        v.addWidget(self.results, 1)
        self.reminder = QLabel(sharing_reminder(state))
        self.reminder.setWordWrap(True)
        self.reminder.setStyleSheet("color:#8a5a00")
        v.addWidget(self.reminder)
        self.progress = ProgressPanel()
        v.addWidget(self.progress)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(close)
        v.addLayout(row)

        self.client = None
        self.viewer: dict | None = None
        self.projects: list[dict] = []
        self.worker: Worker | None = None
        self.download_dir: str | None = None  # asked for when None
        self.poll_seconds = 5.0  # EcoTaxa's job scheduler runs every 5 s
        self._pending: tuple[bool, list[int]] | None = None
        self.login_btn.clicked.connect(self.log_in)
        self.share_btn.clicked.connect(lambda: self.preview(True))
        self.unshare_btn.clicked.connect(lambda: self.preview(False))
        self.confirm_btn.clicked.connect(self.apply)
        self.download_btn.clicked.connect(self.download)

    # --- helpers -------------------------------------------------------------------------------
    def busy(self) -> bool:
        return self.worker is not None and self.worker.running

    def _run(self, fn, name: str, on_done) -> None:
        self.progress.reset("Working…")
        for b in (
            self.login_btn,
            self.share_btn,
            self.unshare_btn,
            self.download_btn,
            self.confirm_btn,
        ):
            b.setEnabled(False)
        w = Worker(fn, name, self)
        w.progress.connect(self.progress.update_event)
        w.done.connect(on_done)
        w.failed.connect(lambda msg: self.results.appendPlainText(f"Stopped: {msg}"))
        w.failed.connect(lambda msg: self.progress.set_text(msg))
        w.finished.connect(self._idle)
        self.worker = w
        w.start()

    def _idle(self) -> None:
        self.login_btn.setEnabled(True)
        on = self.client is not None
        for b in (self.share_btn, self.unshare_btn, self.download_btn):
            b.setEnabled(on)
        self.confirm_btn.setEnabled(self._pending is not None)

    def ticked(self) -> list[int]:
        out = []
        for r in range(self.table.rowCount()):
            item = self.table.item(r, 0)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(int(self.table.item(r, 1).text()))
        return out

    def _remember(self, **kw) -> None:
        state = dict(self.session.project.ecotaxa or {})
        state.update(kw)
        self.session.project.ecotaxa = state
        self.reminder.setText(sharing_reminder(state))
        self.session.touch()

    # --- logging in and listing ------------------------------------------------------------------
    def log_in(self) -> None:
        server, email, pw = (
            self.server.text().strip(),
            self.email.text().strip(),
            self.password.text(),
        )
        self.password.clear()

        def work(task):
            from ..problems import UserError
            from ..workflow import NotFound, SessionExpired
            from ..workflow import ecotaxa_connect as connect

            task.status("Logging in to EcoTaxa")
            try:
                client = connect(server, email, password=pw or None)
            except SessionExpired:
                if pw:
                    raise
                raise UserError("Enter your EcoTaxa password, then log in again.") from None
            try:
                viewer = client.find_user(AQQUA_EMAIL)
            except NotFound:
                viewer = None
            task.status("Listing your projects")
            return client, viewer, client.projects()

        self._run(work, "ecotaxa-login", self._listed)

    def _listed(self, result) -> None:
        self.client, self.viewer, self.projects = result
        self._remember(server=self.client.server, user=self.email.text().strip())
        self.fill_table()
        self.progress.set_text(f"{len(self.projects)} project(s) where you have rights.")

    def fill_table(self) -> None:
        me = int(self.client.me()["id"])
        self.table.setRowCount(len(self.projects))
        for r, p in enumerate(self.projects):
            sees = right_of(p, int(self.viewer["id"])) if self.viewer else ""
            pct = p.get("pctvalidated")
            values = [
                "",
                str(p["projid"]),
                p.get("title") or "",
                p.get("instrument") or "",
                str(int(p["objcount"])) if p.get("objcount") is not None else "",
                f"{pct:.0f}" if pct is not None else "",
                ACCESS.get(str(p.get("access")), str(p.get("access"))),
                person(p.get("contact")) if p.get("contact") else "",
                right_of(p, me) or "-",
                f"yes ({sees})" if sees else "no",
            ]
            for c, text in enumerate(values):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
                    item.setCheckState(Qt.CheckState.Unchecked)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()

    # --- sharing: a dry run, then the change ------------------------------------------------------
    def preview(self, grant: bool) -> None:
        ids = self.ticked()
        if not ids:
            self.progress.set_text("Tick the projects first.")
            return
        if self.viewer is None:
            self.progress.set_text(f"No EcoTaxa user {AQQUA_EMAIL} was found on this server.")
            return
        client, viewer = self.client, self.viewer

        def work(task):
            from ..workflow import change_viewer

            return change_viewer(client, ids, viewer, grant=grant, dry_run=True, task=task)

        def shown(report) -> None:
            self.results.clear()
            self.results.appendPlainText("What would change (nothing has been changed yet):")
            for o in report.outcomes:
                self.results.appendPlainText("  " + o.line(True))
            todo = [o.projid for o in report.outcomes if o.action in ("add", "remove")]
            if todo:
                self._pending = (grant, todo)
                verb = "Share" if grant else "Take back access on"
                self.confirm_btn.setText(f"{verb} {len(todo)} project(s) now")
                self.confirm_btn.setVisible(True)
            else:
                self._pending = None
                self.confirm_btn.setVisible(False)
                self.results.appendPlainText("Nothing to do.")

        self._run(work, "ecotaxa-dry-run", shown)

    def apply(self) -> None:
        if self._pending is None:
            return
        grant, ids = self._pending
        self._pending = None
        self.confirm_btn.setVisible(False)
        client, viewer = self.client, self.viewer

        def work(task):
            from ..workflow import RunStopped, change_viewer

            try:
                return change_viewer(client, ids, viewer, grant=grant, task=task)
            except RunStopped as exc:
                return exc

        def shown(report) -> None:
            stopped = report if isinstance(report, Exception) else None
            if stopped is not None:
                report = stopped.report
            self.results.appendPlainText("Done:")
            shared = dict((self.session.project.ecotaxa or {}).get("shared") or {})
            for o in report.outcomes:
                self.results.appendPlainText("  " + o.line(False))
                if o.done and grant:
                    shared[str(o.projid)] = {"title": o.title, "since": time.strftime("%Y-%m-%d")}
                elif o.done:
                    shared.pop(str(o.projid), None)
            self._remember(shared=shared, account=AQQUA_EMAIL)
            if stopped is not None:
                self.results.appendPlainText(f"Stopped: {stopped}")
            self.log_in_again_quietly()

        self._run(work, "ecotaxa-share", shown)

    def log_in_again_quietly(self) -> None:
        """Refresh the table (who can see what) with the same session."""
        client = self.client

        def work(task):
            return client.projects()

        def shown(projects) -> None:
            self.projects = projects
            ticked = set(self.ticked())
            self.fill_table()
            for r in range(self.table.rowCount()):
                if int(self.table.item(r, 1).text()) in ticked:
                    self.table.item(r, 0).setCheckState(Qt.CheckState.Checked)

        self._run(work, "ecotaxa-list", shown)

    # --- downloading ---------------------------------------------------------------------------
    def download(self) -> None:
        ids = self.ticked()
        if not ids:
            self.progress.set_text("Tick the projects first.")
            return
        out = self.download_dir or QFileDialog.getExistingDirectory(
            self, "Where to keep the EcoTaxa exports"
        )
        if not out:
            return
        client, poll = self.client, self.poll_seconds

        def work(task):
            from ..workflow import export_project

            return [
                (
                    pid,
                    export_project(
                        client, pid, Path(out) / f"ecotaxa_{pid}", task, poll_seconds=poll
                    ),
                )
                for pid in ids
            ]

        def shown(done) -> None:
            for pid, res in done:
                self.results.appendPlainText(
                    f"project {pid}: downloaded {res.zip_path.name} with {res.images} images"
                )
            self.downloaded.emit([str(res.zip_path.parent) for _, res in done])

        self._run(work, "ecotaxa-export", shown)
