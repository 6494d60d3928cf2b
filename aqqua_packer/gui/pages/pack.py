"""Step 5: write the package — where (with a free-space check against an estimate), progress with
rate and time left, cancel and resume; at the end the package summary and a verify run."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QWidget,
)

from ... import workflow
from ...workflow import MANIFEST, WHY_LARGER, slug
from .. import dialogs
from ..gaps import for_the_window
from ..jobs import pack_job, verify_job
from ..widgets.progress import ProgressPanel, fmt_bytes
from ..workers import ProcessWorker, Worker
from .base import Page

log = logging.getLogger("aqqua_packer.gui")


def nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and p.parent != p:
        p = p.parent
    return p


def describe_result(result) -> str:
    """The package summary in plain lines, from a ``package.write.PackResult``."""
    if result is None:
        return ""
    if getattr(result, "already_complete", False):
        head = f"The package was already complete: {result.images:,} images."
    else:
        verb = "Finished (resumed from an earlier run)" if result.resumed else "Packed"
        parts = f" in {len(result.shards)} parts" if len(result.shards) > 1 else ""
        head = f"{verb}: {result.images:,} images{parts}, {fmt_bytes(result.bytes)}, in {result.seconds:.1f} s."
    lines = [head, f"Package folder: {result.path}"]
    if result.skipped:
        lines.append(
            f"Left out: {result.skipped:,} images that were not ready; the list is in {result.skipped_file}."
        )
    if len(result.shards) > 1:  # parts of at most 2 GB, so that any disk can hold each file
        for sh in result.shards:
            lines.append(f"  part {sh.index + 1}: {sh.images:,} images, {fmt_bytes(sh.bytes)}")
    return "\n".join(lines)


class PackPage(Page):
    title = "Pack"
    subtitle = (
        "Write the package on this computer. You can stop at any time and resume later; "
        "nothing already packed is done twice."
    )
    pack_finished = Signal(object)  # the PackResult, once packed (and verified)
    verify_finished = Signal(object)

    def __init__(self, session, parent=None):
        super().__init__(session, parent)
        box = QGroupBox("Where")
        f = QFormLayout(box)
        row = QWidget()
        rh = QHBoxLayout(row)
        rh.setContentsMargins(0, 0, 0, 0)
        self.out = QLineEdit()
        self.out.setToolTip(
            "The folder the package is written to. It needs room for about the size of your images."
        )
        self.browse = QPushButton("Choose…")
        rh.addWidget(self.out, 1)
        rh.addWidget(self.browse)
        f.addRow("Package folder", row)
        self.space = QLabel("")
        self.space.setTextFormat(Qt.TextFormat.RichText)
        f.addRow("Space", self.space)
        self.what = QLabel("")
        f.addRow("What", self.what)
        self.size_note = QLabel(WHY_LARGER)
        self.size_note.setWordWrap(True)
        self.size_note.setObjectName("size_note")
        f.addRow("Size", self.size_note)
        self.outer.addWidget(box)

        prog = QGroupBox("Progress")
        pv = QFormLayout(prog)
        self.progress = ProgressPanel()
        pv.addRow(self.progress)
        btns = QHBoxLayout()
        self.start_btn = QPushButton("Start packing")
        self.start_btn.setToolTip("Write the package. Uses every processor core.")
        self.cancel_btn = QPushButton("Stop")
        self.cancel_btn.setToolTip(
            "Stop after the current images; “Resume” continues where it stopped."
        )
        self.cancel_btn.setEnabled(False)
        self.verify_btn = QPushButton("Verify again")
        self.verify_btn.setToolTip(
            "Read the whole package back: checksums, every image decodes, rows and images agree."
        )
        self.verify_btn.setEnabled(False)
        btns.addWidget(self.start_btn)
        btns.addWidget(self.cancel_btn)
        btns.addStretch(1)
        self.open_btn = QPushButton("Open package folder")
        self.open_btn.setToolTip("Show the package's files in the file manager.")
        self.open_btn.setEnabled(False)
        btns.addWidget(self.open_btn)
        btns.addWidget(self.verify_btn)
        pv.addRow(btns)
        self.outer.addWidget(prog)

        res = QGroupBox("Package")
        rv = QFormLayout(res)
        self.summary = QPlainTextEdit()
        self.summary.setReadOnly(True)
        self.summary.setPlaceholderText("The package summary appears here when packing is done.")
        rv.addRow(self.summary)
        self.outer.addWidget(res, 1)

        self._estimate = None
        self._estimate_key: tuple | None = None
        self.worker: Worker | None = None
        self.result = None
        self.verified = None
        self.browse.clicked.connect(self._choose)
        self.out.textChanged.connect(self._out_changed)
        self.start_btn.clicked.connect(self.start)
        self.cancel_btn.clicked.connect(self.cancel)
        self.verify_btn.clicked.connect(self.verify)
        self.open_btn.clicked.connect(self.open_folder)
        if session.project.out_dir:
            self.out.setText(session.project.out_dir)
        if session.project.pack_state == "done":
            self._show_packed_before()
        if session.project.pack_state in ("running", "interrupted"):
            session.project.pack_state = "interrupted"
            self.progress.set_text(
                "Packing was interrupted. Press “Resume packing” to continue where it stopped."
            )

    def _show_packed_before(self) -> None:
        """A reopened project: say what is on disk, not 0 %."""
        p = self.session.project
        folder = Path(p.package or p.out_dir)
        if not (folder / MANIFEST).is_file():
            p.pack_state, p.pack_verified = "", False
            self.progress.set_text(f"The package is no longer in {folder}; pack it again.")
            return
        from ...workflow import package_bytes

        self.progress.bar.setValue(self.progress.bar.maximum())
        checked = (
            "packed and verified"
            if p.pack_verified
            else "packed (press “Verify again” to check it)"
        )
        self.progress.set_text(f"Already {checked}: {folder}, {fmt_bytes(package_bytes(folder))}.")

    def open_folder(self) -> None:
        folder = self.session.project.package or self.out.text().strip()
        if folder:
            QDesktopServices.openUrl(QUrl.fromLocalFile(folder))

    # --- where -------------------------------------------------------------------------------
    def _choose(self) -> None:
        d = dialogs.existing_directory(
            self, self.session.settings, "Where to write the package", "package"
        )
        if d:
            name = slug(self.session.project.dataset.get("name", ""), "aqqua-package")
            self.out.setText(str(Path(d) / name))

    def _out_changed(self) -> None:
        self.session.project.out_dir = self.out.text().strip()
        if (
            self.session.project.pack_state == "done"
            and self.session.project.package != self.session.project.out_dir
        ):
            self.session.project.pack_state = ""
            self.result = None
        self.session.touch()
        self._update()

    def enter(self) -> None:
        if not self.out.text():
            base = Path.home() / "AqQua-packages"
            self.out.setText(str(base / slug(self.session.project.dataset.get("name", ""), "aqqua-package")))
        self._update()

    def images_to_pack(self) -> tuple[int, int]:
        """(images, estimated bytes) of what will be packed: a sample encoded for real
        (package.estimate), remembered until the mapping or the choice of images changes."""
        m = self.session.mapped
        if m is None:
            return 0, 0
        est = self.size_estimate()
        if est is None:
            mask = m.ready if self.session.project.ready_only else np.ones(len(m.items), bool)
            return int(np.count_nonzero(mask)), 0
        return est.images, est.package_bytes

    def size_estimate(self):
        m = self.session.mapped
        if m is None:
            return None
        ro = self.session.project.ready_only
        key = (id(m), ro)
        if self._estimate_key != key:
            if not self.isVisible():  # encoding a sample is for when the page is shown, not
                return None  # for every edit on the Map page
            from ...workflow import estimate_package_bytes

            mask = m.ready if ro else np.ones(len(m.items), dtype=bool)
            self._estimate = estimate_package_bytes(
                m, positions=np.flatnonzero(np.asarray(mask, dtype=bool))
            )
            self._estimate_key = key
        return self._estimate

    def estimate_ok(self) -> tuple[bool, str]:
        text = self.out.text().strip()
        if not text:
            return False, "Choose a folder for the package."
        n, need = self.images_to_pack()
        try:
            free = shutil.disk_usage(nearest_existing(Path(text))).free
        except OSError as exc:
            return False, f"Cannot look at {text}: {exc.strerror or exc}"
        msg = f"the package needs about {fmt_bytes(need)}; {fmt_bytes(free)} free"
        return free >= need, msg

    def _update(self) -> None:
        ok, msg = self.estimate_ok()
        color = "#1b7a1b" if ok else "#b00020"
        self.space.setText(
            f"<span style='color:{color}'>{msg}</span>"
            + ("" if ok else " — choose another disk or free some space")
        )
        n, _ = self.images_to_pack()
        est = self.size_estimate()
        self.size_note.setText(
            (est.sentence() + " " if est is not None and est.images else "") + WHY_LARGER
        )
        ro = self.session.project.ready_only
        m = self.session.mapped
        left = (len(m.items) - n) if m is not None else 0
        self.what.setText(
            f"{n:,} images"
            + (" (only the ready ones)" if ro else "")
            + (f"; {left:,} left out" if left else "")
        )
        running = self.worker is not None
        state = self.session.project.pack_state
        resumable = state == "interrupted" or (
            not running
            and state != "done"
            and workflow.unfinished_pack(Path(self.out.text().strip() or "."))
        )
        self.start_btn.setText(
            "Resume packing"
            if resumable
            else ("Pack again" if state == "done" else "Start packing")
        )
        self.start_btn.setEnabled(not running and ok and n > 0)
        self.cancel_btn.setEnabled(running)
        self.out.setEnabled(not running)
        self.browse.setEnabled(not running)
        self.verify_btn.setEnabled(not running and state == "done")
        self.open_btn.setEnabled(not running and state == "done")
        self.completeChanged.emit()

    # --- packing -----------------------------------------------------------------------------
    def start(self) -> None:
        if self.worker is not None:
            return
        out = Path(self.out.text().strip())
        mapped = self.session.mapped
        if mapped is None:
            return
        ready_only = self.session.project.ready_only
        dataset = self.session.dataset_info()
        request = self.session.request()
        p = self.session.project
        resumed = p.pack_state == "interrupted"
        p.pack_state, p.package, p.pack_verified = "running", str(out), False
        self.session.touch()
        self.result = None
        self.verified = None
        self.summary.clear()
        log.info("packing %s into %s%s", len(mapped.items), out, " (resume)" if resumed else "")

        w = ProcessWorker(
            pack_job,
            (request, out, ready_only, dataset),
            name="pack",
            parent=self,
        )
        w.progress.connect(self.progress.update_event)
        w.done.connect(self._packed)
        w.failed.connect(self._failed)
        w.cancelled.connect(self._cancelled)
        w.finished.connect(self._worker_finished)
        self.worker = w
        self.progress.reset("Starting…")
        w.start()
        self._update()

    def cancel(self) -> None:
        if self.worker is not None:
            self.progress.set_text("Stopping after the current images…")
            self.worker.cancel()

    def _packed(self, result) -> None:
        self.result = result
        self.session.project.pack_state = "done"
        self.session.touch()
        self.summary.setPlainText(describe_result(result))

    def _failed(self, message: str) -> None:
        message = for_the_window(message)
        self.session.project.pack_state = "interrupted"
        self.session.touch()
        self.progress.set_text(f"Packing stopped: {message}")
        self.summary.setPlainText(message)

    def _cancelled(self) -> None:
        self.session.project.pack_state = "interrupted"
        self.session.touch()
        self.progress.set_text(
            "Stopped. What was packed is kept; press “Resume packing” to continue."
        )

    def _worker_finished(self) -> None:
        w, self.worker = self.worker, None
        if w is not None:
            w.deleteLater()
        self._update()
        if w is not None and w.outcome == "done":
            self.verify()

    # --- verifying ---------------------------------------------------------------------------
    def verify(self) -> None:
        if self.worker is not None:
            return
        out = Path(self.session.project.package or self.out.text().strip())

        w = ProcessWorker(verify_job, (out,), name="verify", parent=self)
        w.progress.connect(self.progress.update_event)
        w.done.connect(self._verified)
        w.failed.connect(lambda msg: self.summary.appendPlainText(f"\nVerify failed: {msg}"))
        w.finished.connect(self._verify_finished)
        self.worker = w
        w.start()
        self._update()

    def _verified(self, report) -> None:
        self.verified = report
        self.session.project.pack_verified = bool(getattr(report, "ok", False))
        self.session.touch()
        self.summary.appendPlainText("\nVerify: " + report.summary())
        self.verify_finished.emit(report)

    def _verify_finished(self) -> None:
        w, self.worker = self.worker, None
        if w is not None:
            w.deleteLater()
        self._update()
        self.progress.set_text(
            "Packed and verified."
            if getattr(self.verified, "ok", False)
            else self.progress.label.text()
        )
        self.pack_finished.emit(self.result)

    def busy(self) -> bool:
        return self.worker is not None

    def blocker(self) -> str:
        if self.worker is not None:
            return "Packing…"
        if self.session.project.pack_state != "done":
            return "Pack the data first."
        return ""
