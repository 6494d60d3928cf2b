"""Step 4: the gap report before anything is written — counts, a filterable and sortable table of
problem rows, thumbnails, a map of positions and a histogram of times.  Export it as CSV; then
fix and re-check, or choose to pack only the ready images."""

from __future__ import annotations

import csv
import logging
from collections import Counter
from pathlib import Path

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...fields import BY_NAME
from ...problems import Problem
from ...workflow import IMPOSSIBLE, KIND_WORDS, PLAUSIBILITY_RULES, SUSPICIOUS
from .. import dialogs
from ..gaps import field_counts, needs_timezone
from ..widgets.charts import PositionsMap, TimeHistogram
from ..widgets.thumbnails import ThumbnailGrid
from .base import Page

log = logging.getLogger("aqqua_packer.gui")
PROBLEM_COLUMNS = ("File", "Row", "Field", "Value", "Why", "Severity")


class ProblemsModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.problems: list[Problem] = []

    def set_problems(self, problems: list[Problem]) -> None:
        self.beginResetModel()
        self.problems = list(problems)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.problems)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return len(PROBLEM_COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return PROBLEM_COLUMNS[section]
        return None

    def _values(self, p: Problem) -> tuple:
        label = BY_NAME[p.field].label if p.field in BY_NAME else (p.field or "")
        return (p.file or "", p.row, label, p.value, p.message, p.severity)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        p = self.problems[index.row()]
        v = self._values(p)[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return "" if v is None else str(v)
        if role == Qt.ItemDataRole.UserRole:  # sort key
            if index.column() == 1:
                return -1 if v is None else int(v)
            return "" if v is None else str(v).lower()
        if role == Qt.ItemDataRole.ToolTipRole:
            return str(p)
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 5:
            return QColor("#b00020") if p.severity == "error" else QColor("#b36b00")
        return None


class ProblemsFilter(QSortFilterProxyModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.field = ""
        self.text = ""
        self.setSortRole(Qt.ItemDataRole.UserRole)

    def set_filter(self, field: str, text: str) -> None:
        self.field, self.text = field, text.lower().strip()
        self.invalidate()

    def filterAcceptsRow(self, row: int, parent) -> bool:
        p = self.sourceModel().problems[row]
        if self.field and (p.field or "") != self.field:
            return False
        if self.text:
            hay = " ".join(
                str(x)
                for x in (p.file, p.row, p.field, p.value, p.message, p.kind)
                if x is not None
            ).lower()
            return self.text in hay
        return True


def export_csv(problems: list[Problem], path: Path) -> None:
    """The gap report as CSV, one problem per line, for a spreadsheet or an e-mail."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "row", "field", "value", "why", "severity", "kind"])
        for p in problems:
            w.writerow(
                [
                    p.file or "",
                    "" if p.row is None else p.row,
                    p.field or "",
                    "" if p.value is None else p.value,
                    p.message,
                    p.severity,
                    p.kind,
                ]
            )


class PreviewPage(Page):
    title = "Preview gaps"
    subtitle = "What will be packed, and what is missing or wrong, before anything is written."
    fix_requested = Signal()

    def __init__(self, session, parent=None):
        super().__init__(session, parent)
        self.counts_label = QLabel("")
        self.counts_label.setTextFormat(Qt.TextFormat.RichText)
        self.counts_label.setWordWrap(True)
        self.outer.addWidget(self.counts_label)

        self.tabs = QTabWidget()
        # problems tab
        ptab = QWidget()
        pv = QVBoxLayout(ptab)
        fr = QHBoxLayout()
        self.field_filter = QComboBox()
        self.field_filter.setToolTip("Show the problems of one field only.")
        self.search = QLineEdit(placeholderText="Filter: file name, value, reason…")
        self.search.setClearButtonEnabled(True)
        self.export_btn = QPushButton("Export report (CSV)…")
        self.export_btn.setToolTip(
            "Save every problem as a spreadsheet, to fix the table or to send to a colleague."
        )
        fr.addWidget(QLabel("Field:"))
        fr.addWidget(self.field_filter)
        fr.addWidget(self.search, 1)
        fr.addWidget(self.export_btn)
        pv.addLayout(fr)
        self.model = ProblemsModel(self)
        self.proxy = ProblemsFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setStretchLastSection(False)
        hh.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        for c, w in ((0, 300), (1, 50), (2, 110), (3, 170), (5, 70)):
            self.table.setColumnWidth(c, w)
        pv.addWidget(self.table, 1)
        self.tabs.addTab(ptab, "Problems")
        # thumbnails tab
        self.grid = ThumbnailGrid()
        self.tabs.addTab(self.grid, "Images")
        # positions and times tab
        pt = QWidget()
        ph = QVBoxLayout(pt)
        split = QSplitter(Qt.Orientation.Vertical)
        mapbox = QWidget()
        mv = QVBoxLayout(mapbox)
        mv.setContentsMargins(0, 0, 0, 0)
        self.zoom = QCheckBox("Zoom to the positions")
        mv.addWidget(self.zoom)
        self.map = PositionsMap()
        mv.addWidget(self.map, 1)
        self.hist = TimeHistogram()
        split.addWidget(mapbox)
        split.addWidget(self.hist)
        split.setSizes([300, 160])
        ph.addWidget(split)
        self.tabs.addTab(pt, "Where and when")
        self.outer.addWidget(self.tabs, 1)

        # suspicious values the user may confirm, one checkbox per kind present
        self.confirm_row = QHBoxLayout()
        self.confirm_label = QLabel("")
        self.confirm_label.setWordWrap(True)
        self.confirm_row.addWidget(self.confirm_label, 1)
        self.confirm_boxes: dict[str, QCheckBox] = {}
        self.outer.addLayout(self.confirm_row)

        # the choice
        ch = QHBoxLayout()
        self.fix_btn = QPushButton("Fix the mapping and check again")
        self.fix_btn.setToolTip("Go back to Map fields; the report is rebuilt as you change it.")
        self.all_radio = QRadioButton("Every image must be ready")
        self.ready_radio = QRadioButton("Pack only the ready images")
        self.ready_radio.setToolTip(
            "Leave out the images with problems; they are listed in the exported report and the package summary."
        )
        self.all_radio.setChecked(not session.project.ready_only)
        self.ready_radio.setChecked(session.project.ready_only)
        ch.addWidget(self.fix_btn)
        ch.addStretch(1)
        ch.addWidget(self.all_radio)
        ch.addWidget(self.ready_radio)
        self.outer.addLayout(ch)

        self.field_filter.currentIndexChanged.connect(self._filter)
        self.search.textChanged.connect(self._filter)
        self.export_btn.clicked.connect(self._export)
        self.zoom.toggled.connect(self.map.set_zoom)
        self.fix_btn.clicked.connect(self.fix_requested)
        self.ready_radio.toggled.connect(self._choice)
        session.mapped_changed.connect(self._refresh_if_visible)
        self._shown_for = None

    # --- showing -----------------------------------------------------------------------------
    def enter(self) -> None:
        self.refresh()

    def _refresh_if_visible(self) -> None:
        if self.isVisible():
            self.refresh()
        self.completeChanged.emit()

    def refresh(self) -> None:
        m = self.session.mapped
        if m is None or m is self._shown_for:
            self.completeChanged.emit()
            return
        self._shown_for = m
        n = len(m.items)
        ready = int(m.ready.sum())
        errors = [p for p in m.problems if p.severity == "error"]
        warnings = [p for p in m.problems if p.severity != "error"]
        fc = field_counts(m)
        per_field = ", ".join(
            f"{BY_NAME[k].label}: {c.missing + c.invalid:,}"
            for k, c in fc.items()
            if c.missing + c.invalid and (BY_NAME[k].required or c.invalid or k == "image")
        )
        kinds = Counter(p.kind for p in errors)
        color = "#1b7a1b" if ready == n else "#b36b00"
        self.counts_label.setText(
            f"<span style='font-size:13pt;color:{color}'><b>{ready:,} of {n:,} images ready to pack</b></span>"
            f" &nbsp; {n - ready:,} with problems · {len(errors):,} errors · {len(warnings):,} warnings"
            + (f"<br>Images lacking a required field — {per_field}" if per_field else "")
            + (
                "<br>What is wrong — "
                + ", ".join(
                    f"{KIND_WORDS.get(k, k.replace('_', ' '))} ({v:,} {'value' if v == 1 else 'values'})"
                    for k, v in kinds.most_common()
                )
                if kinds
                else ""
            )
        )
        self.model.set_problems(m.problems)
        cur = self.field_filter.currentData()
        self.field_filter.blockSignals(True)
        self.field_filter.clear()
        self.field_filter.addItem("All fields", "")
        for f in dict.fromkeys(p.field for p in m.problems if p.field):
            self.field_filter.addItem(BY_NAME[f].label if f in BY_NAME else f, f)
        i = self.field_filter.findData(cur)
        self.field_filter.setCurrentIndex(max(0, i))
        self.field_filter.blockSignals(False)
        self._filter()
        bad_tips: dict[int, str] = {}
        by_name: dict[str, list[str]] = {}
        for p in errors:
            if p.file:
                by_name.setdefault(p.file, []).append(f"{p.field}: {p.message}")
        for i in np.flatnonzero(~np.asarray(m.ready, dtype=bool)).tolist():
            bad_tips[i] = "\n".join(by_name.get(m.items.name(i), ["not ready"])[:6])
        self.grid.model_.set_images(m.items.refs(), m.ready, bad_tips)
        c = m.converted
        self.map.set_positions(
            c["image-longitude"].astype(float).to_numpy() if "image-longitude" in c else [],
            c["image-latitude"].astype(float).to_numpy() if "image-latitude" in c else [],
            m.ready,
        )
        self.hist.set_times(
            c["image-datetime"] if "image-datetime" in c else [], local=needs_timezone(m)
        )
        self._show_confirmations(m)
        self.ready_radio.setText(f"Pack only the {ready:,} ready images (leave {n - ready:,} out)")
        self.all_radio.setEnabled(True)
        self.completeChanged.emit()

    def _show_confirmations(self, m) -> None:
        """A checkbox per suspicious kind in the report: ticking it says "these values are right"
        (recorded in image-set.toml); impossible kinds get a sentence, no checkbox."""
        for box in self.confirm_boxes.values():
            self.confirm_row.removeWidget(box)
            box.deleteLater()
        self.confirm_boxes = {}
        counts = Counter(p.kind for p in m.problems if p.kind in PLAUSIBILITY_RULES)
        accepted = set(self.session.accepted())
        words = []
        for kind, n in counts.items():
            rule = PLAUSIBILITY_RULES[kind]
            if rule.level == IMPOSSIBLE:
                words.append(f"{rule.words} ({n:,}): cannot be right, fix the mapping")
                continue
            if rule.level != SUSPICIOUS:
                continue
            box = QCheckBox(f"Confirm: {rule.words} ({n:,})")
            box.setToolTip(
                "Tick if these values are right as they are: the images become ready, and the "
                "confirmation is written into the package with your name and the time."
            )
            box.setChecked(kind in accepted)
            box.toggled.connect(lambda on, k=kind: self.session.set_accepted(k, on))
            self.confirm_row.addWidget(box)
            self.confirm_boxes[kind] = box
        head = "Unusual values — " if self.confirm_boxes else ""
        self.confirm_label.setText(head + "; ".join(words) if (head or words) else "")
        self.confirm_label.setVisible(bool(head or words))

    def _filter(self) -> None:
        self.proxy.set_filter(self.field_filter.currentData() or "", self.search.text())

    def _choice(self) -> None:
        self.session.project.ready_only = self.ready_radio.isChecked()
        self.session.touch()
        self.completeChanged.emit()

    def set_ready_only(self, on: bool) -> None:
        (self.ready_radio if on else self.all_radio).setChecked(True)

    # --- export ------------------------------------------------------------------------------
    def _export(self) -> None:
        if self.session.mapped is None:
            return
        path = dialogs.save_file_name(
            self,
            self.session.settings,
            "Export the gap report",
            "gap-report.csv",
            "CSV (*.csv)",
            "report",
        )
        if path:
            try:
                self.export(Path(path))
            except OSError as exc:
                QMessageBox.warning(self, "Cannot export", f"{path}: {exc.strerror or exc}")

    def export(self, path: Path) -> None:
        export_csv(self.session.mapped.problems, path)
        log.info("gap report exported to %s", path)

    def visible_problem_count(self) -> int:
        return self.proxy.rowCount()

    # --- may the user go on? ----------------------------------------------------------------
    def blocker(self) -> str:
        m = self.session.mapped
        if m is None or self.session.checking:
            return "Checking…"
        n, ready = len(m.items), int(np.sum(m.ready))
        if ready == 0:
            return "No image is ready; fix the mapping first."
        if ready < n and not self.ready_radio.isChecked():
            return f"{n - ready:,} images have problems: fix them, or choose to pack only the ready images."
        return ""
