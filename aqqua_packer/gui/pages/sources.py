"""Step 2: the folders, zips and files to pack.  Each is scanned in the background, one at a time,
and the page shows what was recognised: kind, images, tables, copies set aside."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
)

from ... import workflow
from ...resources import sample_data_dir
from .. import dialogs
from ..widgets.progress import ProgressPanel
from ..workers import Worker
from .base import Page

log = logging.getLogger("aqqua_packer.gui")
COLUMNS = ("Source", "Recognised as", "Images", "Tables", "Left out", "Status")


class SourcesPage(Page):
    title = "Sources"
    subtitle = (
        "Add the folders, zip files or image files to pack — with the buttons or by dragging them here. "
        "Each is looked through in the background; nothing is changed in your files."
    )
    scanned = Signal()  # every queued source has been scanned
    sample_requested = Signal()  # "Try with sample data": the window opens a demo project

    def __init__(self, session, parent=None):
        super().__init__(session, parent)
        self.setAcceptDrops(True)
        row = QHBoxLayout()
        self.add_folder_btn = QPushButton("Add folder…")
        self.add_folder_btn.setToolTip("Add a folder of images (and its metadata table).")
        self.add_files_btn = QPushButton("Add zip or files…")
        self.add_files_btn.setToolTip("Add zip files, single images or instrument files.")
        self.remove_btn = QPushButton("Remove")
        self.remove_btn.setToolTip("Leave the selected source out (your files are not touched).")
        self.rescan_btn = QPushButton("Scan again")
        self.sample_btn = QPushButton("Try with sample data")
        self.sample_btn.setToolTip(
            "Add the 40 example images bundled with AqQua Packer, to see how it works."
        )
        for b in (self.add_folder_btn, self.add_files_btn, self.remove_btn, self.rescan_btn):
            row.addWidget(b)
        row.addStretch(1)
        self.ecotaxa_btn = QPushButton("My data is on EcoTaxa…")
        self.ecotaxa_btn.setToolTip("Share your EcoTaxa projects with AqQua, or download them to pack.")
        row.addWidget(self.ecotaxa_btn)
        row.addWidget(self.sample_btn)
        self.outer.addLayout(row)
        self.ecotaxa_reminder = QLabel()
        self.ecotaxa_reminder.setWordWrap(True)
        self.outer.addWidget(self.ecotaxa_reminder)

        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.headerItem().setToolTip(
            4,
            "Files not packed: copies of an image, masks or files that are not images (hover a number for the list).",
        )
        self.tree.setRootIsDecorated(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in range(1, len(COLUMNS)):
            self.tree.header().setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setAcceptDrops(False)
        self.outer.addWidget(self.tree, 1)
        self.drop_hint = QLabel("Drop folders, zips or images anywhere on this page.")
        self.drop_hint.setStyleSheet("color:#666")
        self.outer.addWidget(self.drop_hint)
        self.progress = ProgressPanel()
        self.outer.addWidget(self.progress)
        self.cancel_btn = QPushButton("Stop scanning")
        self.cancel_btn.setEnabled(False)
        row2 = QHBoxLayout()
        row2.addStretch(1)
        row2.addWidget(self.cancel_btn)
        self.outer.addLayout(row2)

        self.add_folder_btn.clicked.connect(self._choose_folder)
        self.add_files_btn.clicked.connect(self._choose_files)
        self.remove_btn.clicked.connect(self.remove_selected)
        self.rescan_btn.clicked.connect(self.rescan_all)
        self.sample_btn.clicked.connect(self.sample_requested)
        self.cancel_btn.clicked.connect(self.cancel)
        self.ecotaxa_btn.clicked.connect(self.open_ecotaxa)
        self._show_ecotaxa_reminder()

        self._queue: list[str] = []
        self.worker: Worker | None = None
        self._current: str | None = None
        for src in self.session.project.sources:
            self._queue.append(src)
        self._refresh()

    # --- adding ------------------------------------------------------------------------------
    def _choose_folder(self) -> None:
        d = dialogs.existing_directory(
            self, self.session.settings, "Add a folder of images", "sources"
        )
        if d:
            self.add_sources([d])

    def _choose_files(self) -> None:
        files = dialogs.open_file_names(
            self,
            self.session.settings,
            "Add zip files or images",
            "Zips, images and instrument files (*.zip *.png *.jpg *.jpeg *.tif *.tiff *.bmp *.gif *.roi *.lst *.hdr *.adc);;All files (*)",
            "sources",
        )
        if files:
            self.add_sources(files)

    def open_ecotaxa(self):
        """The “My data is on EcoTaxa” dialog; downloaded exports become sources."""
        from ..ecotaxa_dialog import EcoTaxaDialog

        self.ecotaxa_dialog = EcoTaxaDialog(self.session, self)
        self.ecotaxa_dialog.downloaded.connect(self.add_sources)
        self.ecotaxa_dialog.finished.connect(self._show_ecotaxa_reminder)
        self.ecotaxa_dialog.show()
        return self.ecotaxa_dialog

    def _show_ecotaxa_reminder(self, *_) -> None:
        from ..ecotaxa_dialog import sharing_reminder

        text = sharing_reminder(self.session.project.ecotaxa)
        self.ecotaxa_reminder.setText(text)
        self.ecotaxa_reminder.setVisible(bool(text))

    def add_sample_data(self) -> None:
        self.add_sources([str(sample_data_dir())])

    def add_sources(self, paths) -> None:
        """Add folders, zips or files (str or Path) and scan each in the background."""
        for p in paths:
            p = str(Path(p).expanduser().resolve())
            if p in self.session.project.sources:
                continue
            self.session.project.sources.append(p)
            self._queue.append(p)
            log.info("source added: %s", p)
        self.session.touch()
        self._refresh()
        self._next()

    def remove_selected(self) -> None:
        for item in self.tree.selectedItems():
            while item.parent() is not None:
                item = item.parent()
            src = item.data(0, Qt.ItemDataRole.UserRole)
            if src == self._current and self.worker is not None:
                self.worker.cancel()
            if src in self.session.project.sources:
                self.session.project.sources.remove(src)
            if src in self._queue:
                self._queue.remove(src)
            self.session.set_scans(src, None)
        self.session.touch()
        self._refresh()

    def rescan_all(self) -> None:
        for src in self.session.project.sources:
            if src not in self._queue and src != self._current:
                self._queue.append(src)
        self._next()

    # drag and drop
    def dragEnterEvent(self, e) -> None:
        if e.mimeData().hasUrls():
            e.acceptProposedAction()

    def dropEvent(self, e) -> None:
        paths = [u.toLocalFile() for u in e.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.add_sources(paths)
            e.acceptProposedAction()

    # --- scanning ----------------------------------------------------------------------------
    def enter(self) -> None:
        self._next()

    def _next(self) -> None:
        if self.worker is not None or not self._queue:
            return
        src = self._queue.pop(0)
        if src not in self.session.project.sources:
            return self._next()
        self._current = src
        req = workflow.Request(sources=[Path(src)])
        w = Worker(
            lambda task: workflow.scan(req, task), name=f"scan {src}", parent=self, background=True
        )
        w.progress.connect(self.progress.update_event)
        w.done.connect(lambda scans, s=src: self.session.set_scans(s, scans))
        w.failed.connect(lambda msg, s=src: self.session.set_scans(s, [], error=msg))
        w.cancelled.connect(
            lambda s=src: self.session.set_scans(s, None, error="scan stopped; press “Scan again”")
        )
        w.finished.connect(self._scan_finished)
        self.worker = w
        self.cancel_btn.setEnabled(True)
        self.progress.reset(f"Scanning {src} …")
        self._refresh()
        self.completeChanged.emit()
        w.start()

    def _scan_finished(self) -> None:
        w = self.worker
        self.worker = None
        self._current = None
        if w is not None:
            if w.outcome == "done":
                n = sum(len(s.images) for s in w.result)
                self.progress.set_text(f"Found {n:,} images.")
            elif w.outcome == "failed":
                self.progress.set_text(w.error or "")
            w.deleteLater()
        self.cancel_btn.setEnabled(bool(self._queue))
        self._refresh()
        self.completeChanged.emit()
        if self._queue:
            self._next()
        else:
            self.cancel_btn.setEnabled(False)
            self.scanned.emit()

    def cancel(self) -> None:
        self._queue.clear()
        if self.worker is not None:
            self.worker.cancel()

    def busy(self) -> bool:
        return self.worker is not None or bool(self._queue)

    # --- showing -----------------------------------------------------------------------------
    def _refresh(self) -> None:
        self.tree.clear()
        for src in self.session.project.sources:
            scans = self.session.scans.get(src)
            err = self.session.scan_errors.get(src)
            top = QTreeWidgetItem([src])
            top.setData(0, Qt.ItemDataRole.UserRole, src)
            top.setToolTip(0, src)
            if src == self._current:
                top.setText(5, "scanning…")
            elif src in self._queue:
                top.setText(5, "waiting")
            elif err:
                top.setText(5, err)
                top.setToolTip(5, err)
                top.setForeground(5, Qt.GlobalColor.darkRed)
            elif scans is not None:
                n = sum(len(s.images) for s in scans)
                top.setText(1, ", ".join(dict.fromkeys(s.kind for s in scans)) or "—")
                top.setText(2, f"{n:,}")
                top.setText(3, str(sum(len(s.tables) for s in scans)))
                top.setText(4, str(sum(len(s.set_aside) for s in scans)))
                tz = any(p.kind == "needs_timezone" for s in scans for p in s.problems)
                top.setText(
                    5,
                    ("ready; give the time zone on the Map page" if tz else "ready")
                    if n
                    else "no images found",
                )
                top.setToolTip(5, top.text(5))
                for s in scans:
                    child = QTreeWidgetItem(
                        [
                            s.label or str(s.root),
                            s.kind,
                            f"{len(s.images):,}",
                            str(len(s.tables)),
                            str(len(s.set_aside)),
                            s.reason,
                        ]
                    )
                    child.setToolTip(5, s.reason)
                    child.setToolTip(0, s.label or str(s.root))
                    child.setToolTip(1, f"{s.kind} (confidence {s.confidence:.0%}): {s.reason}")
                    tips = [f"{a.path}: {a.reason}" for a in s.set_aside[:20]]
                    if tips:
                        child.setToolTip(4, "\n".join(tips))
                    for t in s.tables:
                        table = QTreeWidgetItem([f"table: {t}", "", "", "", "", ""])
                        table.setToolTip(0, f"table: {t}")
                        child.addChild(table)
                    top.addChild(child)
            else:
                top.setText(5, "not scanned")
            self.tree.addTopLevelItem(top)
            top.setExpanded(True)
        self.remove_btn.setEnabled(bool(self.session.project.sources))

    def image_count(self) -> int:
        return sum(len(s.images) for s in self.session.all_scans())

    def blocker(self) -> str:
        if not self.session.project.sources:
            return "Add at least one folder, zip or file (or try the sample data)."
        if self.busy():
            return "Scanning… wait until every source has been looked through."
        if self.image_count() == 0:
            return "No images were found in the sources; add a folder that holds images."
        return ""
