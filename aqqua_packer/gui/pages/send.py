"""Step 6: send the package — SFTP, FTP(S), WebDAV, Nextcloud, an rclone remote, a link service
(archive parts), a Globus hand-off or a hard drive; the way AqQua recommends for the size first.  A destination form
with "test connection", saved destinations (never with a password), progress per file and overall,
pause and resume, and an account of what arrived and was verified."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from urllib.parse import quote

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ... import workflow
from .. import dialogs
from ..gaps import for_the_window
from ..widgets.progress import ProgressPanel, fmt_bytes
from ..workers import Worker
from .base import Page
from .send_ways import DAV_PORTS, NEW_KINDS, RcloneRemotes, advice_text, url_for

log = logging.getLogger("aqqua_packer.gui")

KINDS = (
    ("sftp", "SFTP (SSH)"),
    ("ftps", "FTPS (FTP with TLS)"),
    ("ftp", "FTP (unencrypted)"),
    ("globus", "Globus hand-off"),
    ("folder", "Hard drive or folder"),
    *NEW_KINDS,
)
PORTS = {"sftp": 22, "ftp": 21, "ftps": 21}
NET = {**PORTS, **DAV_PORTS}  # the kinds with a server, port and user


def target_url(d: dict) -> str:
    """The target string the transfer engine (and the CLI's `send`) takes, without a password."""
    kind = d.get("kind", "sftp")
    if (new := url_for(d)) is not None:
        return new
    if kind == "folder":
        return d.get("folder", "")
    path = d.get("path", "").strip()
    if kind == "globus":
        return f"globus://{d.get('endpoint', '').strip()}/{path.lstrip('/')}"
    user = d.get("user", "").strip()
    host = d.get("host", "").strip()
    port = int(d.get("port") or PORTS[kind])
    if path and not path.startswith("/"):
        path = "/~/" + path
    auth = f"{quote(user, safe='')}@" if user else ""
    return f"{kind}://{auth}{host}:{port}{quote(path) if path else '/~/'}"


class SendPage(Page):
    title = "Send"
    subtitle = (
        "Send the package to AqQua. On a slow or dropping link just leave it running: it retries, "
        "and “Pause” / “Resume” continue where it stopped, even after closing the app."
    )
    send_finished = Signal(object)

    def __init__(self, session, parent=None):
        super().__init__(session, parent)
        top = QHBoxLayout()
        self.saved = QComboBox()
        self.saved.setToolTip("Destinations you saved earlier (passwords are never saved).")
        self.save_btn = QPushButton("Save destination…")
        self.delete_btn = QPushButton("Forget")
        top.addWidget(QLabel("Saved destinations:"))
        top.addWidget(self.saved, 1)
        top.addWidget(self.save_btn)
        top.addWidget(self.delete_btn)
        self.outer.addLayout(top)

        split = QSplitter(Qt.Orientation.Horizontal)
        form_box = QGroupBox("Destination")
        self.form = QFormLayout(form_box)
        self.kind = QComboBox()
        for k, label in KINDS:
            self.kind.addItem(label, k)
        self.kind.setToolTip(
            "How the package travels. AqQua tells you which to use and the server's address."
        )
        self.host = QLineEdit(placeholderText="server name, e.g. upload.aqqua.org")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(22)
        self.user = QLineEdit(placeholderText="your user name on the server")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("never written to a file")
        self.password.setToolTip("AqQua Packer never writes it to its files or to the log.")
        self.remember = QCheckBox("Remember it in the system keyring")
        self.remember.setToolTip(
            "Keep the password in the operating system's keyring (not in AqQua Packer's files), "
            "so an interrupted upload resumes without asking."
        )
        self.key = QLineEdit(placeholderText="SSH key file (optional)")
        keyrow, self.key_btn = _with_browse_button(self.key)
        self.path = QLineEdit(
            placeholderText="folder on the server (empty: home)",
            toolTip="The folder on the server to put the package in; empty: your home folder there.",
        )
        self.endpoint = QLineEdit(placeholderText="AqQua's Globus collection id")
        self.globus_share = QLineEdit(
            placeholderText="the folder Globus Connect Personal shares",
            toolTip="The package is placed (hard-linked where possible) in this folder; Globus then moves it to AqQua.",
        )
        self.folder = QLineEdit(placeholderText="the drive or folder to copy the package to")
        folderrow, self.folder_btn = _with_browse_button(self.folder)
        self.bwlimit = QLineEdit(
            placeholderText="e.g. 500K; empty = as fast as the link allows",
            toolTip="Leave bandwidth for the ship's other users: bytes per second with K, M or G.",
        )
        self.advice = QLabel("")
        self.advice.setWordWrap(True)
        self.advice.setStyleSheet("color:#1b5e20")
        self.ca_file = QLineEdit(
            placeholderText="only for a server with its own certificate",
            toolTip="The CA or certificate file the server's administrator gave you.",
        )
        self.remotes = RcloneRemotes()
        self.form.addRow(self.advice)
        self.form.addRow("How", self.kind)
        self.form.addRow("rclone remote", self.remotes)
        self.form.addRow("Server", self.host)
        self.form.addRow("Port", self.port)
        self.form.addRow("User", self.user)
        self.form.addRow("Password", self.password)
        self.form.addRow("", self.remember)
        self.form.addRow("Key file", keyrow)
        self.form.addRow("Certificate", self.ca_file)
        self.form.addRow("Globus collection", self.endpoint)
        self.form.addRow("Shared folder", self.globus_share)
        self.form.addRow("Remote folder", self.path)
        self.form.addRow("Folder", folderrow)
        self.form.addRow("Bandwidth limit", self.bwlimit)
        self.target_label = QLabel("")
        self.target_label.setWordWrap(False)
        self.target_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.target_label.setStyleSheet("color:#555")
        self.form.addRow("Target", self.target_label)
        self.test_btn = QPushButton("Test connection")
        self.test_btn.setToolTip(
            "Log in and check the folder can be written, without sending anything."
        )
        self.test_result = QLabel("")
        self.test_result.setWordWrap(True)
        self.form.addRow(self.test_btn, self.test_result)
        split.addWidget(form_box)

        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        self.package_label = QLabel("")
        self.package_label.setWordWrap(True)
        rv.addWidget(self.package_label)
        self.files = QTreeWidget()
        self.files.setHeaderLabels(("File", "Size", "State"))
        self.files.setRootIsDecorated(False)
        self.files.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.files.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.files.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.files.header().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        rv.addWidget(self.files, 1)
        self.progress = ProgressPanel()
        rv.addWidget(self.progress)
        btns = QHBoxLayout()
        self.send_btn = QPushButton("Send")
        self.pause_btn = QPushButton("Pause")
        self.pause_btn.setEnabled(False)
        self.pause_btn.setToolTip(
            "Stop now; “Resume” continues from the last byte the server confirmed."
        )
        btns.addWidget(self.send_btn)
        btns.addWidget(self.pause_btn)
        btns.addStretch(1)
        rv.addLayout(btns)
        self.account = QPlainTextEdit()
        self.account.setReadOnly(True)
        self.account.setMaximumHeight(120)
        self.account.setPlaceholderText("What arrived and was verified is listed here.")
        rv.addWidget(self.account)
        split.addWidget(right)
        split.setSizes([460, 640])
        self.outer.addWidget(split, 1)

        self.worker: Worker | None = None
        self.result = None
        self._accept_host: bool = False
        self._files: list = []
        self._last_message = ""

        self.kind.currentIndexChanged.connect(self._kind_changed)
        for w in (
            self.host,
            self.user,
            self.key,
            self.path,
            self.endpoint,
            self.globus_share,
            self.folder,
            self.bwlimit,
            self.ca_file,
        ):
            w.textChanged.connect(self._changed)
        self.remotes.changed.connect(self._changed)
        self.remotes.new_btn.clicked.connect(lambda: self.test_result.setText(self.remotes.message))
        self.port.valueChanged.connect(self._changed)
        self.key_btn.clicked.connect(self._choose_key)
        self.folder_btn.clicked.connect(self._choose_folder)
        self.saved.activated.connect(self._use_saved)
        self.save_btn.clicked.connect(self._save_destination)
        self.delete_btn.clicked.connect(self._forget)
        self.test_btn.clicked.connect(self.test_connection)
        self.send_btn.clicked.connect(self.start)
        self.pause_btn.clicked.connect(self.pause)
        self._fill_saved()
        self.set_destination(session.project.destination or {"kind": "sftp"})
        if session.project.send_state in ("running", "interrupted"):
            session.project.send_state = "interrupted"
            self.progress.set_text(
                "The upload was interrupted. Press “Resume” to continue where it stopped."
            )

    # --- the form ----------------------------------------------------------------------------
    def destination(self) -> dict:
        kind = self.kind.currentData()
        d = {"kind": kind}
        if kind in NET:
            d.update(
                host=self.host.text().strip(),
                port=self.port.value(),
                user=self.user.text().strip(),
                path=self.path.text().strip(),
            )
            if kind == "sftp" and self.key.text().strip():
                d["key_file"] = self.key.text().strip()
            if kind in DAV_PORTS and self.ca_file.text().strip():
                d["ca_file"] = self.ca_file.text().strip()
        elif kind == "rclone":
            d.update(remote=self.remotes.remote(), path=self.path.text().strip())
        elif kind == "globus":
            d.update(endpoint=self.endpoint.text().strip(), path=self.path.text().strip())
            if self.globus_share.text().strip():
                d["globus_share"] = self.globus_share.text().strip()
        else:
            d.update(folder=self.folder.text().strip())
        if self.bwlimit.text().strip():
            d["bwlimit"] = self.bwlimit.text().strip()
        return d

    def set_destination(self, d: dict) -> None:
        i = self.kind.findData(d.get("kind", "sftp"))
        self.kind.setCurrentIndex(max(0, i))
        self.host.setText(d.get("host", ""))
        self.port.setValue(int(d.get("port") or NET.get(d.get("kind", "sftp"), 22)))
        self.ca_file.setText(d.get("ca_file", ""))
        if d.get("kind") == "rclone":
            self.remotes.refresh(d.get("remote", ""))
        self.user.setText(d.get("user", ""))
        self.key.setText(d.get("key_file", ""))
        self.path.setText(d.get("path", ""))
        self.endpoint.setText(d.get("endpoint", ""))
        self.globus_share.setText(d.get("globus_share", ""))
        self.folder.setText(d.get("folder", ""))
        self.bwlimit.setText(d.get("bwlimit", ""))
        self._kind_changed()

    def _kind_changed(self) -> None:
        kind = self.kind.currentData()
        net = kind in NET
        if kind == "rclone" and not self.remotes.combo.count():
            self.remotes.refresh()
        vis = {
            self.ca_file: kind in DAV_PORTS,
            self.remotes: kind == "rclone",
            self.host: net,
            self.port: net,
            self.user: net,
            self.password: net,
            self.remember: net,
            self.key.parentWidget(): kind == "sftp",
            self.endpoint: kind == "globus",
            self.globus_share: kind == "globus",
            self.path: net or kind in ("globus", "rclone"),
            self.folder.parentWidget(): kind in ("folder", "link"),
        }
        for w, on in vis.items():
            self.form.setRowVisible(w, on)
        self.test_btn.setText("Test connection" if net else "Check the folder")
        if net and self.port.value() in NET.values():
            self.port.setValue(NET[kind])
        self._changed()

    def _changed(self) -> None:
        self.target_label.setText(target_url(self.destination()))
        self.session.project.destination = self.destination()
        self.session.touch()
        if hasattr(self, "worker"):
            if self.worker is None and self.isVisible():
                self.progress.reset()
                self.account.clear()
                self.show_plan()
            self._update()

    def _choose_key(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "SSH private key", str(Path.home() / ".ssh"))
        if path:
            self.key.setText(path)

    def _choose_folder(self) -> None:
        d = dialogs.existing_directory(
            self, self.session.settings, "The drive or folder to copy the package to", "drive"
        )
        if d:
            self.folder.setText(d)

    # --- saved destinations ------------------------------------------------------------------
    def _fill_saved(self) -> None:
        self.saved.clear()
        self.saved.addItem("—", None)
        for name in sorted(self.session.settings.destinations()):
            self.saved.addItem(name, name)

    def _use_saved(self) -> None:
        name = self.saved.currentData()
        if name:
            self.set_destination(self.session.settings.destinations().get(name, {}))

    def _save_destination(self) -> None:
        d = self.destination()
        default = d.get("host") or d.get("folder") or d.get("endpoint") or "AqQua"
        name, ok = QInputDialog.getText(self, "Save destination", "Name:", text=default)
        if ok and name.strip():
            self.save_destination(name.strip())

    def save_destination(self, name: str) -> None:
        self.session.settings.save_destination(name, self.destination())
        self._fill_saved()
        self.saved.setCurrentIndex(self.saved.findData(name))

    def _forget(self) -> None:
        name = self.saved.currentData()
        if name:
            self.session.settings.delete_destination(name)
            self._fill_saved()

    # --- options -------------------------------------------------------------------------------
    def _options(self):
        from ...workflow import SendOptions, parse_rate

        d = self.destination()
        url = target_url(d)

        def from_keyring():
            from ...workflow import get_password, parse_target

            try:
                return get_password(parse_target(url))
            except Exception:  # an incomplete form: nothing kept
                return None

        opts = SendOptions(
            password_provider=from_keyring,
            bwlimit=parse_rate(d.get("bwlimit")) if d.get("bwlimit") else None,
            identity=Path(d["key_file"]) if d.get("key_file") else None,
            password=self.password.text() or None,
            accept_new_host_key=self._accept_host,
            globus_share=Path(d["globus_share"]) if d.get("globus_share") else None,
        )
        if d["kind"] in DAV_PORTS:
            from ...workflow import DavOptions

            opts.target_options = DavOptions(
                ca_file=Path(d["ca_file"]) if d.get("ca_file") else None
            )
        return opts

    def _host_key_question(self, exc) -> bool:
        info = getattr(exc, "info", None)
        if info is None:
            return False
        ans = QMessageBox.question(
            self,
            "A server new to this computer",
            f"The server {info.host}:{info.port} identifies itself with the {info.key_type} key\n\n{info.fingerprint}\n\n"
            "Check this fingerprint with the server's administrator. Trust it and continue?",
        )
        return ans == QMessageBox.StandardButton.Yes

    # --- test connection -------------------------------------------------------------------
    def test_connection(self) -> None:
        if self.worker is not None:
            return

        target, opts = target_url(self.destination()), self._options()
        w = Worker(
            lambda task: workflow.try_connection(target, options=opts, task=task),
            name="test connection",
            parent=self,
        )
        w.done.connect(
            lambda r: self.test_result.setText(f"<span style='color:#1b7a1b'>Connected: {r}</span>")
        )
        w.failed.connect(lambda msg: self._test_failed(w, msg))
        w.finished.connect(self._worker_done)
        self.test_result.setText("Connecting…")
        self.worker = w
        w.start()
        self._update()

    def _test_failed(self, w: Worker, msg: str) -> None:
        self.test_result.setText(f"<span style='color:#b00020'>{msg}</span>")
        if type(w.exception).__name__ == "HostKeyUnknown" and self._host_key_question(w.exception):
            self._accept_host = True
            self.test_result.setText("Server trusted; test again.")

    # --- sending -----------------------------------------------------------------------------
    def enter(self) -> None:
        self.show_plan()
        self._update()

    def show_plan(self, files=None) -> None:
        """The package's files and what the journal says arrived (no network needed)."""
        pkg = self.session.project.package
        self.files.clear()
        if not pkg:
            self.package_label.setText("No package yet: pack first.")
            return
        if files is None:
            try:
                from ...workflow import plan

                files = plan(Path(pkg), target_url(self.destination()) or "/nonexistent").files
                if self.worker is None and files:
                    # what the journal says about this destination decides Send / Resume / Send again
                    if all(f.state == "arrived" for f in files):
                        self.session.project.send_state = "done"
                        self.progress.bar.setValue(self.progress.bar.maximum())
                        self.progress.set_text(
                            f"Done: every file of this package arrived at "
                            f"{target_url(self.destination())} and was checked there."
                        )
                    elif any(f.state != "pending" for f in files):
                        self.session.project.send_state = "interrupted"
                    elif self.session.project.send_state != "running":
                        self.session.project.send_state = ""
            except Exception as exc:  # a package still being written, or no target yet
                log.info("cannot plan the send of %s: %s", pkg, exc)
                try:
                    from ...workflow import read_package

                    files = [
                        type(
                            "F",
                            (),
                            {
                                "path": f.path,
                                "size": f.size,
                                "state": "pending",
                                "confirmed": 0,
                                "verified_by": "",
                            },
                        )()
                        for f in read_package(Path(pkg)).all_files
                    ]
                except Exception as exc2:
                    self.package_label.setText(f"Package: {pkg} — {exc2}")
                    return
        total = sum(f.size for f in files)
        self.advice.setText(advice_text(total, self.kind.currentData()))
        arrived = sum(1 for f in files if f.state == "arrived")
        self.package_label.setText(
            f"Package: {pkg}  ({len(files)} files, {fmt_bytes(total)}; {arrived} arrived)"
        )
        for f in files:
            if f.state == "arrived":
                state = f"arrived, verified by {f.verified_by}" if f.verified_by else "arrived"
            elif f.state == "partial":
                state = f"{100 * f.confirmed / max(1, f.size):.0f}% confirmed"
            else:
                state = "waiting"
            item = QTreeWidgetItem([f.path, fmt_bytes(f.size), state])
            item.setToolTip(0, f.path)  # long package file names may not fit the column
            if f.state == "arrived":
                item.setForeground(2, Qt.GlobalColor.darkGreen)
            self.files.addTopLevelItem(item)
        self._files = list(files)

    def start(self) -> None:
        if self.worker is not None:
            return
        pkg = Path(self.session.project.package)
        if self.kind.currentData() == "link":
            return self._make_parts(pkg, Path(self.destination()["folder"]))
        target = target_url(self.destination())
        opts = self._options()
        self.session.project.send_state = "running"
        self.session.touch()
        self.account.clear()
        self.result = None
        w = Worker(
            lambda task: workflow.send(pkg, target, options=opts, task=task),
            name=f"send to {target}",
            parent=self,
        )
        w.progress.connect(self._progress)
        w.done.connect(self._sent)
        w.failed.connect(lambda msg: self._send_failed(w, msg))
        w.cancelled.connect(self._paused)
        w.finished.connect(self._worker_done)
        self.worker = w
        self.progress.reset("Connecting…")
        w.start()
        self._update()

    def _make_parts(self, pkg: Path, out: Path) -> None:
        """A link service: write the archive parts, then say what to upload in the browser."""
        w = Worker(lambda task: workflow.archive(pkg, out, task=task), name="archive", parent=self)
        w.progress.connect(self.progress.update_event)
        w.done.connect(self._archived)
        w.failed.connect(lambda msg: self.account.setPlainText(msg))
        w.finished.connect(self._worker_done)
        self.worker = w
        self.account.clear()
        self.progress.reset("Writing the parts…")
        w.start()
        self._update()

    def _archived(self, res) -> None:
        lines = [
            f"Upload these files from {res.sums.parent} in the browser (GigaMove or the service AqQua named):"
        ]
        lines += [f"  {p.name}  ({fmt_bytes(p.stat().st_size)})" for p in res.parts]
        lines.append(f"  {res.sums.name}  (the parts' checksums)")
        lines.append("Then send AqQua the link. They restore it with `aqqua-packer unarchive`.")
        self.account.setPlainText("\n".join([*res.notes, *lines]))

    def pause(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _progress(self, ev) -> None:
        self.progress.update_event(ev)
        if ev.message and ev.message != self._last_message:
            self._last_message = ev.message
            self.show_plan()  # the journal moved on: show which files have arrived

    def _keep_password(self) -> None:
        if self.remember.isChecked() and self.password.text():
            from ...workflow import parse_target, set_password

            if not set_password(parse_target(target_url(self.destination())), self.password.text()):
                self.account.appendPlainText(
                    "No system keyring is available here; the password was not kept."
                )

    def _sent(self, result) -> None:
        self.result = result
        self._keep_password()
        done = result.complete or result.handed_off
        self.session.project.send_state = "done" if done else "interrupted"
        self.session.touch()
        self.show_plan(result.files)
        verified = Counter(f.verified_by or "size" for f in result.files if f.state == "arrived")
        arrived = sum(1 for f in result.files if f.state == "arrived")
        dropped = (
            f"; the connection dropped {result.interruptions} times and the upload went on each time"
            if result.interruptions
            else ""
        )
        if result.complete:
            self.progress.set_text(
                f"Done: the package {result.package.name} arrived whole at {result.target} "
                "and was checked there. Nothing more to do; you may close AqQua Packer."
            )
        lines = [
            (
                f"Done: all {arrived} files of {result.package.name} ({fmt_bytes(result.bytes_total)}) "
                f"arrived at {result.target} and were checked."
            )
            if result.complete
            else f"{result.stopped}: {arrived} of {len(result.files)} files "
            f"({fmt_bytes(result.bytes_total)}) at {result.target}.",
            "Checked by: " + ", ".join(f"{k} ({v} files)" for k, v in verified.items())
            if verified
            else "",
            f"Sent this time: {fmt_bytes(result.bytes_sent)} in {result.elapsed:.0f} s{dropped}.",
            *result.notes,
        ]
        if not done:
            lines.append("Not finished: press “Resume” (or leave it to the next run).")
        self.account.setPlainText("\n".join(x for x in lines if x))
        self.send_finished.emit(result)

    def _send_failed(self, w: Worker, msg: str) -> None:
        msg = for_the_window(msg)
        self.session.project.send_state = "interrupted"
        self.session.touch()
        self.account.setPlainText(msg)
        self.progress.set_text("Stopped. Press “Resume” to continue where it stopped.")
        if type(w.exception).__name__ == "HostKeyUnknown" and self._host_key_question(w.exception):
            self._accept_host = True
            self.account.appendPlainText("Server trusted; press “Resume”.")

    def _paused(self) -> None:
        self.session.project.send_state = "interrupted"
        self.session.touch()
        self.progress.set_text("Paused. Press “Resume” to continue where it stopped.")

    def _worker_done(self) -> None:
        w, self.worker = self.worker, None
        if w is not None:
            w.deleteLater()
        self._update()

    def _update(self) -> None:
        running = self.worker is not None
        state = self.session.project.send_state
        self.send_btn.setText(
            "Resume" if state == "interrupted" else ("Send again" if state == "done" else "Send")
        )
        self.send_btn.setEnabled(
            not running and bool(self.session.project.package) and not self._form_problem()
        )
        self.pause_btn.setEnabled(running)
        self.test_btn.setEnabled(not running)
        self.completeChanged.emit()

    def _form_problem(self) -> str:
        d = self.destination()
        kind = d["kind"]
        if kind in NET and not d.get("host"):
            return "Enter the server's name."
        if kind in DAV_PORTS and not d.get("user"):
            return "Enter your user name."
        if kind == "rclone" and not d.get("remote"):
            return "Choose an rclone remote, or make one with “New remote…”."
        if kind == "link" and not d.get("folder"):
            return "Choose the folder for the parts."
        if kind == "globus" and not d.get("endpoint"):
            return "Enter AqQua's Globus collection id."
        if kind == "folder" and not d.get("folder"):
            return "Choose the drive or folder."
        return ""

    def busy(self) -> bool:
        return self.worker is not None

    def blocker(self) -> str:
        return self._form_problem() or ("Sending…" if self.worker is not None else "")


def _with_browse_button(edit: QLineEdit) -> tuple[QWidget, QPushButton]:
    """A form row: the line edit, then a small "…" button that opens a file or folder chooser."""
    button = QPushButton("…")
    button.setFixedWidth(36)
    row = QWidget()
    h = QHBoxLayout(row)
    h.setContentsMargins(0, 0, 0, 0)
    h.addWidget(edit, 1)
    h.addWidget(button)
    return row, button
