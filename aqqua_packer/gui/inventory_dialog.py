"""“List all my datasets…”: pick a folder (a disk, a share), see every dataset below it in a
sortable table with a map of their areas and a time line, export the table for AqQua's data
sharing form, or start a project from one row.  The work is ``inventory.inventory``; it runs in a
worker, off the UI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..inventory import CSV_COLUMNS, DatasetRow, Inventory, csv_cells, inventory
from ..progress import format_bytes
from .widgets.coverage import BoxesMap, TimeLine
from .widgets.progress import ProgressPanel
from .workers import Worker

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
NONE = float("-inf")  # sorts rows without a value first (ascending)


def _num(v) -> float:
    return NONE if v is None else float(v)


# How each column sorts: by the number behind the text (bytes, not rounded GB).
SORT_KEYS = {
    "Folder": lambda r: r.path,
    "Dataset": lambda r: r.label,
    "Instrument": lambda r: r.instrument,
    "Images": lambda r: r.images,
    "Size on disk (GB)": lambda r: r.bytes_on_disk,
    "Estimated package size (GB)": lambda r: r.package_bytes,
    "First sample (UTC)": lambda r: r.first,
    "Last sample (UTC)": lambda r: r.last,
    "South": lambda r: _num(r.south),
    "North": lambda r: _num(r.north),
    "West": lambda r: _num(r.west),
    "East": lambda r: _num(r.east),
    "Ready now (%)": lambda r: _num(r.ready_percent),
    "Most missing": lambda r: r.most_missing[1],
    "Recommended transfer": lambda r: r.package_bytes,
    "Problem": lambda r: r.problem,
}
NUMERIC = {
    "Images",
    "Size on disk (GB)",
    "Estimated package size (GB)",
    "South",
    "North",
    "West",
    "East",
    "Ready now (%)",
}


class InventoryModel(QAbstractTableModel):
    """The inventory's rows (not the total) in the CSV's columns."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[DatasetRow] = []
        self._cells: list[list[str]] = []

    def set_rows(self, rows: list[DatasetRow]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self._cells = [csv_cells(r) for r in self.rows]
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(CSV_COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return CSV_COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r, col = self.rows[index.row()], CSV_COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cells[index.row()][index.column()]
        if role == SORT_ROLE:
            return SORT_KEYS[col](r)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and r.problem and not r.kind:
            return QColor(170, 0, 20)
        if role == Qt.ItemDataRole.ToolTipRole:
            return r.problem or r.path
        return None


class InventoryDialog(QDialog):
    """Emits ``project_requested(path)`` when the user starts a project from a row."""

    project_requested = Signal(str)

    def __init__(self, parent=None, root: str | Path | None = None):
        super().__init__(parent)
        self.setWindowTitle("All my datasets")
        self.resize(1180, 720)
        self.inventory: Inventory | None = None
        self.worker: Worker | None = None
        v = QVBoxLayout(self)
        intro = QLabel(
            "AqQua's data sharing form asks for <b>all</b> your datasets, also those not ready to "
            "send. Choose the folder that holds them (a disk, a share, years of cruises): every "
            "dataset the packer recognises is listed with its instrument, size, time, area, how "
            "many images are ready now and how to send it. Export the table for the form."
        )
        intro.setWordWrap(True)
        v.addWidget(intro)
        row = QHBoxLayout()
        self.root = QLineEdit(str(root or ""))
        self.root.setPlaceholderText("The folder that holds your datasets")
        self.choose_btn = QPushButton("Choose folder…")
        self.list_btn = QPushButton("List datasets")
        self.list_btn.setDefault(True)
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setEnabled(False)
        row.addWidget(self.root, 1)
        for b in (self.choose_btn, self.list_btn, self.stop_btn):
            row.addWidget(b)
        v.addLayout(row)
        self.progress = ProgressPanel()
        v.addWidget(self.progress)

        self.model = InventoryModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)  # by folder until the user sorts
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.verticalHeader().setVisible(False)
        self.map = BoxesMap()
        self.timeline = TimeLine()
        charts = QWidget()
        ch = QHBoxLayout(charts)
        ch.setContentsMargins(0, 0, 0, 0)
        ch.addWidget(self.map, 3)
        ch.addWidget(self.timeline, 2)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(charts)
        split.setSizes([380, 220])
        v.addWidget(split, 1)
        self.totals = QLabel(" ")
        self.totals.setWordWrap(True)
        v.addWidget(self.totals)
        buttons = QHBoxLayout()
        self.export_btn = QPushButton("Export the table (CSV)…")
        self.export_btn.setToolTip(
            "One line per dataset and a TOTAL line, for the data sharing form"
        )
        self.start_btn = QPushButton("Start a project from this row")
        self.start_btn.setToolTip(
            "Add the selected dataset as the source and go to the Sources step"
        )
        self.close_btn = QPushButton("Close")
        buttons.addWidget(self.export_btn)
        buttons.addStretch(1)
        buttons.addWidget(self.start_btn)
        buttons.addWidget(self.close_btn)
        v.addLayout(buttons)

        self.choose_btn.clicked.connect(self._choose_root)
        self.list_btn.clicked.connect(lambda: self.list_datasets())
        self.root.returnPressed.connect(lambda: self.list_datasets())
        self.stop_btn.clicked.connect(self.stop)
        self.export_btn.clicked.connect(lambda: self.export_csv())
        self.start_btn.clicked.connect(self.start_project)
        self.close_btn.clicked.connect(self.reject)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda _i: self.start_project())
        self._update_buttons()

    # --- listing ---------------------------------------------------------------------------
    def _choose_root(self) -> None:
        d = QFileDialog.getExistingDirectory(
            self, "The folder that holds your datasets", self.root.text()
        )
        if d:
            self.root.setText(d)
            self.list_datasets()

    @property
    def busy(self) -> bool:
        return self.worker is not None and self.worker.running

    def list_datasets(self, root: str | Path | None = None) -> Worker | None:
        """List the datasets below ``root`` (or the folder typed in) in the background."""
        if root is not None:
            self.root.setText(str(root))
        text = self.root.text().strip()
        if not text or self.busy:
            return None
        self.progress.reset(f"Looking for datasets in {text}")
        w = Worker(
            lambda task: inventory([Path(text).expanduser()], task),
            "inventory",
            self,
            background=True,
        )
        w.progress.connect(self.progress.update_event)
        w.done.connect(self._listed)
        w.failed.connect(lambda msg: self.progress.set_text(f"Stopped: {msg}"))
        w.cancelled.connect(lambda: self.progress.set_text("Stopped; nothing is listed."))
        w.finished.connect(self._update_buttons)
        self.worker = w
        w.start()
        self._update_buttons()
        return w

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _listed(self, inv: Inventory) -> None:
        self.inventory = inv
        self.model.set_rows(inv.rows)
        self.table.resizeColumnsToContents()
        self.map.set_rows(inv.rows)
        self.timeline.set_rows(inv.rows)
        t = inv.total()
        unread = len(inv.rows) - len(inv.datasets)
        self.totals.setText(
            f"<b>{len(inv.datasets)} datasets</b>, {t.images:,} images, "
            f"{format_bytes(t.bytes_on_disk)} on disk, packages about "
            f"{format_bytes(t.package_bytes)}; {t.ready_percent or 0:.1f}% of the images are ready now."
            + (
                f" <span style='color:#a00'>{unread} could not be read (see Problem).</span>"
                if unread
                else ""
            )
        )
        self.progress.set_text(f"Listed {len(inv.datasets)} datasets below {', '.join(inv.roots)}.")

    # --- the rows --------------------------------------------------------------------------
    def selected_row(self) -> DatasetRow | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.rows[self.proxy.mapToSource(rows[0]).row()]

    def select_path(self, path: str) -> bool:
        """Select the row of ``path`` (as a click does); False when it is not listed."""
        for i, r in enumerate(self.model.rows):
            if r.path == path:
                self.table.selectRow(self.proxy.mapFromSource(self.model.index(i, 0)).row())
                return True
        return False

    def _selection_changed(self, *_a) -> None:
        r = self.selected_row()
        self.map.set_selected(r.path if r else None)
        self.timeline.set_selected(r.path if r else None)
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self.busy
        r = self.selected_row()
        self.list_btn.setEnabled(not busy)
        self.stop_btn.setEnabled(busy)
        self.export_btn.setEnabled(self.inventory is not None and not busy)
        self.start_btn.setEnabled(r is not None and bool(r.kind) and not busy)

    def export_csv(self, path: str | Path | None = None) -> Path | None:
        """Write the table with its TOTAL line; asks where when ``path`` is None."""
        if self.inventory is None:
            return None
        if path is None:
            start = str(Path.home() / "aqqua-datasets.csv")
            path, _ = QFileDialog.getSaveFileName(
                self, "Export the table for the data sharing form", start, "CSV (*.csv)"
            )
            if not path:
                return None
        try:
            out = self.inventory.to_csv(Path(path))
        except OSError as exc:
            self.progress.set_text(f"Cannot write {path}: {exc.strerror or exc}")
            return None
        self.progress.set_text(f"The table is in {out}")
        return out

    def start_project(self) -> None:
        r = self.selected_row()
        if r is None or not r.kind or self.busy:
            return
        self.project_requested.emit(r.path)
        self.accept()

    def done(self, result: int) -> None:  # closing stops a listing still running
        if self.busy:
            self.worker.cancel()
            self.worker.wait(10000)
        super().done(result)
