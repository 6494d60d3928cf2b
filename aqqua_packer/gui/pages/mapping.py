"""Step 3: where each field comes from — a column (with sample values), a constant, or a pattern
on the file name — its format and unit, how sure the suggestion is, and live counts of ready,
missing and invalid images per field as the user edits."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QWidget,
)

from ...fields import FIELDS, REQUIRED_FIELDS, Field, sources_of
from ...problems import UserError
from ...workflow import FieldSpec, Mapping, effective_mapping, load_profile, save_profile
from .. import dialogs
from ..gaps import TIMEZONE_HINT, field_counts, needs_timezone, suggestion_doubt, to_confirm
from .base import Page

log = logging.getLogger("aqqua_packer.gui")

MODES = ("Not mapped", "Column", "Constant", "From file name")
FORMATS = {
    "datetime": [
        "",
        "iso",
        "%Y-%m-%d %H:%M:%S",
        "%Y%m%d%H%M%S",
        "%Y%m%d-%H%M%S",
        "%Y%m%dT%H%M%S",
        "%d/%m/%Y %H:%M",
        "%d.%m.%Y %H:%M:%S",
    ],
    "date": ["", "%Y%m%d", "%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y"],
    "latitude": ["", "dms", "ddmm"],
    "longitude": ["", "dms", "ddmm"],
}
FORMAT_HELP = "How the values are written. “automatic” recognises ISO dates, decimal degrees and degrees-minutes-seconds; pick a pattern like %Y%m%d for others."
LENGTH_UNITS = ["m", "cm", "mm", "dbar", "km"]
UNITS = {
    "depth": LENGTH_UNITS,
    "depth_min": LENGTH_UNITS,
    "depth_max": LENGTH_UNITS,
    "altitude": LENGTH_UNITS,
    "pixel_size": ["um", "mm", "px/um", "px/mm", "dpi"],
    "volume_sampled": ["L"],
    "surface_altitude": ["m"],
}
UNIT_LABELS = {
    "um": "µm per pixel",
    "mm": "mm per pixel",
    "px/um": "pixels per µm",
    "px/mm": "pixels per mm",
    "dpi": "dots per inch",
    "dbar": "dbar (≈ m)",
}


def sample_values(scans, column: str, k: int = 3) -> list[str]:
    """The first ``k`` distinct non-empty values of ``column`` (vectorised: fast on 100,000 rows)."""
    out: list[str] = []
    for s in scans:
        if column in s.rows.columns:
            for v in pd.unique(s.rows[column].head(20000).astype(str).str.strip()):
                if v and v not in out:
                    out.append(v)
                    if len(out) >= k:
                        return out
    return out


class FieldRow:
    """The widgets of one field's row."""

    def __init__(self, page: MappingPage, f: Field, grid: QGridLayout, r: int):
        self.page, self.field = page, f
        star = " *" if f.required else ""
        self.label = QLabel(f"<b>{f.label}</b>{star}" if f.required else f.label + star)
        self.label.setToolTip(f.help)
        self.mode = QComboBox()
        self.mode.addItems(["Not set", "Value"] if f.kind == "setting" else list(MODES))
        self.mode.setToolTip(f"Where “{f.label}” comes from. {f.help}")
        self.column = QComboBox()
        self.column.setToolTip(
            "The column of your table that holds this field; sample values shown."
        )
        self.column.setMinimumWidth(130)  # the counts column must stay in view at 1280×800
        self.column.setMaximumWidth(340)
        self.text = QLineEdit()
        self.fmt = QComboBox(editable=True)
        self.fmt.setToolTip(FORMAT_HELP)
        self.fmt.setFixedWidth(124)
        for x in FORMATS.get(f.kind if f.kind in FORMATS else f.name, []):
            self.fmt.addItem(x or "automatic", x)
        self.unit = QComboBox()
        for u in UNITS.get(f.name, []):
            self.unit.addItem(UNIT_LABELS.get(u, u), u)
        self.unit.setToolTip("The unit the values are written in; they are converted for you.")
        self.unit.setFixedWidth(108)
        self.conf = QLabel("")
        self.counts = QLabel("")
        self.counts.setTextFormat(Qt.TextFormat.RichText)
        value = QWidget()
        vh = QHBoxLayout(value)
        vh.setContentsMargins(0, 0, 0, 0)
        vh.addWidget(self.column, 1)
        vh.addWidget(self.text, 1)
        grid.addWidget(self.label, r, 0)
        grid.addWidget(self.mode, r, 1)
        grid.addWidget(value, r, 2)
        grid.addWidget(self.fmt, r, 3)
        grid.addWidget(self.unit, r, 4)
        grid.addWidget(self.conf, r, 5)
        grid.addWidget(self.counts, r, 6)
        self.fmt.setVisible(self.fmt.count() > 0)
        self.unit.setVisible(self.unit.count() > 0)
        self._loading = False
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.column.currentIndexChanged.connect(self._edited)
        self.column.currentIndexChanged.connect(self._column_tip)
        self.text.editingFinished.connect(self._edited)
        self.fmt.currentTextChanged.connect(self._edited)
        self.unit.currentIndexChanged.connect(self._edited)

    def _column_tip(self, *_) -> None:
        """The chosen column with its sample values in full: the chooser may be too narrow."""
        help_ = "The column of your table that holds this field; sample values shown."
        text = self.column.currentText()
        self.column.setToolTip(f"{text}\n\n{help_}" if text else help_)

    # --- reading and writing the spec --------------------------------------------------------
    def set_columns(self, columns: list[tuple[str, list[str]]]) -> None:
        """``columns``: (name, sample values) for every column of the tables."""
        self._loading = True
        cur = self.column.currentData()
        self.column.clear()
        for c, samples in columns:
            self.column.addItem(
                f"{c}  —  {', '.join(samples)}" if samples else f"{c}  —  (empty)", c
            )
            self.column.setItemData(
                self.column.count() - 1,
                f"{c}: {', '.join(samples) or 'no values'}",
                Qt.ItemDataRole.ToolTipRole,
            )
        if cur is not None:
            i = self.column.findData(cur)
            if i >= 0:
                self.column.setCurrentIndex(i)
        self._loading = False

    def set_spec(self, spec: FieldSpec | None) -> None:
        self._loading = True
        f = self.field
        if spec is None:
            self.mode.setCurrentIndex(0)
        elif f.kind == "setting":
            self.mode.setCurrentIndex(1)
            self.text.setText(spec.constant or "")
        elif spec.pattern:
            self.mode.setCurrentIndex(3)
            self.text.setText(spec.pattern)
        elif spec.column is not None:
            self.mode.setCurrentIndex(1)
            i = self.column.findData(spec.column)
            if i < 0:
                self.column.addItem(f"{spec.column}  —  (not in the table)", spec.column)
                i = self.column.count() - 1
            self.column.setCurrentIndex(i)
        else:
            self.mode.setCurrentIndex(2)
            self.text.setText(spec.constant or "")
        if spec is not None and spec.format:
            i = self.fmt.findData(spec.format)
            if i < 0:
                self.fmt.addItem(spec.format, spec.format)
                i = self.fmt.count() - 1
            self.fmt.setCurrentIndex(i)
        elif self.fmt.count():
            self.fmt.setCurrentIndex(0)
        if spec is not None and spec.unit and self.unit.count():
            i = self.unit.findData(spec.unit)
            if i >= 0:
                self.unit.setCurrentIndex(i)
        elif self.unit.count():
            self.unit.setCurrentIndex(0)
        if spec is not None and spec.origin == "suggested":
            c = spec.confidence
            doubt = suggestion_doubt(self.page.session.all_scans(), f.name, spec)
            shown = f"{c:.0%}" if c is not None else "yes"
            self.conf.setText(f"⚠ {shown} — check" if doubt else shown)
            self.conf.setStyleSheet("color:#b36b00; font-weight:bold" if doubt else "")
            self.conf.setToolTip(
                (f"Check this suggestion: {doubt}. " if doubt else "")
                + (spec.reason or "Suggested from the data; check it.")
            )
        else:
            self.conf.setText("")
            self.conf.setToolTip("")
            self.conf.setStyleSheet("")
        self._show_widgets()
        self._loading = False

    def spec(self) -> FieldSpec | None:
        i = self.mode.currentIndex()
        text = self.fmt.currentText().strip()
        k = self.fmt.findText(text)
        fmt = (self.fmt.itemData(k) if k >= 0 else text) if text and text != "automatic" else None
        unit = self.unit.currentData() if self.unit.count() else None
        if i == 0:
            return None
        if self.field.kind == "setting":
            t = self.text.text().strip()
            return FieldSpec(constant=t) if t else None
        if i == 1:
            col = self.column.currentData()
            return FieldSpec(column=col, format=fmt or None, unit=unit) if col is not None else None
        t = self.text.text().strip()
        if not t:
            return None
        if i == 2:
            return FieldSpec(constant=t, format=fmt or None, unit=unit)
        return FieldSpec(pattern=t, format=fmt or None, unit=unit)

    def _show_widgets(self) -> None:
        i = self.mode.currentIndex()
        setting = self.field.kind == "setting"
        self.fmt.setVisible(self.fmt.count() > 0 and i != 0)
        self.unit.setVisible(self.unit.count() > 0 and i != 0)
        self.column.setVisible(not setting and i == 1)
        self.text.setVisible((setting and i == 1) or (not setting and i in (2, 3)))
        self.text.setPlaceholderText(
            "a regular expression on the file name, e.g. (\\d{8}T\\d{6})"
            if i == 3
            else "the value for every image"
        )
        self.text.setToolTip(
            "A regular expression applied to each image's file name; the first group (or the group named “value”) is the field's value."
            if i == 3
            else "This value is used for every image."
        )

    def _mode_changed(self) -> None:
        self._show_widgets()
        if self.mode.currentIndex() in (2, 3) and not self.text.text():
            self.text.setFocus()
            return
        self._edited()

    def _edited(self, *_) -> None:
        if self._loading:
            return
        self.conf.setText("you")
        self.conf.setToolTip("You set this.")
        self.conf.setStyleSheet("")
        self.page.field_edited(self.field.name, self.spec())

    def show_counts(self, counts, n: int, mapped_here: bool) -> None:
        if counts is None:
            self.counts.setText("")
            return
        parts = [f"<span style='color:#1b7a1b'>{counts.ready:,} ready</span>"]
        if counts.missing:
            parts.append(f"<span style='color:#b36b00'>{counts.missing:,} missing</span>")
        if counts.invalid:
            parts.append(f"<span style='color:#b00020'><b>{counts.invalid:,} invalid</b></span>")
        self.counts.setText(" · ".join(parts))
        self.counts.setToolTip(
            f"{counts.ready:,} ready · {counts.missing:,} missing · {counts.invalid:,} invalid. Of {n:,} images: {counts.ready:,} have a good value, {counts.missing:,} have none, {counts.invalid:,} have a value that cannot be read."
        )


class MappingPage(Page):
    title = "Map fields"
    subtitle = (
        "Tell AqQua Packer where each field is. Fields marked * are needed for every image. "
        "Suggestions are filled in; the counts on the right update as you change them."
    )

    def __init__(self, session, parent=None):
        super().__init__(session, parent)
        bar = QHBoxLayout()
        self.summary = QLabel("")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        bar.addWidget(self.summary, 1)
        self.load_btn = QPushButton("Load profile…")
        self.load_btn.setToolTip("Use a mapping saved earlier (e.g. from the last cruise).")
        self.save_btn = QPushButton("Save profile…")
        self.save_btn.setToolTip(
            "Save this mapping to reuse it next time, here or with the command line."
        )
        bar.addWidget(self.load_btn)
        bar.addWidget(self.save_btn)
        self.outer.addLayout(bar)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color:#8a5300")
        self.note.hide()
        self.outer.addWidget(self.note)
        self.tz_note = QLabel(TIMEZONE_HINT)  # while a reader's time-zone question is open
        self.tz_note.setWordWrap(True)
        self.tz_note.setStyleSheet("color:#8a5300; font-weight:bold")
        self.tz_note.hide()
        self.outer.addWidget(self.tz_note)

        inner = QWidget()
        grid = QGridLayout(inner)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(4)
        for c, h in enumerate(
            ("Field", "Comes from", "Column or value", "Format", "Unit", "Suggested", "Images")
        ):
            lab = QLabel(f"<b>{h}</b>")
            grid.addWidget(lab, 0, c)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        grid.addWidget(line, 1, 0, 1, 7)
        self.rows: dict[str, FieldRow] = {}
        for r, f in enumerate(FIELDS, start=2):
            self.rows[f.name] = FieldRow(self, f, grid, r)
        grid.setColumnStretch(2, 1)
        grid.setColumnStretch(6, 1)
        grid.setRowStretch(len(FIELDS) + 2, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.outer.addWidget(scroll, 1)

        self.load_btn.clicked.connect(self._load_profile)
        self.save_btn.clicked.connect(self._save_profile)
        session.mapped_changed.connect(self._show_counts)
        session.checking_changed.connect(self._checking)
        session.scans_changed.connect(self.populate)
        self._populated_for: tuple = ()
        self._effective_key: tuple | None = None
        self._effective = Mapping()

    # --- populate from scans and the mapping ------------------------------------------------
    def effective(self) -> Mapping:
        """Suggestions merged with the user's choices; remembered until either changes (the
        navigation asks often, and suggesting reads the tables)."""
        scans = self.session.all_scans()
        given = self.session.given_mapping()
        key = (tuple(id(x) for x in scans), json.dumps(given.to_profile(), sort_keys=True))
        if self._effective_key != key:
            self._effective = effective_mapping(scans, given)
            self._effective_key = key
        return self._effective

    def populate(self) -> None:
        scans = self.session.all_scans()
        cols: list[str] = []
        for s in scans:
            for c in s.columns:
                if c not in cols:
                    cols.append(c)
        eff = self.effective()
        with_samples = [(c, sample_values(scans, c)) for c in cols]
        for name, row in self.rows.items():
            row.set_columns(with_samples)
            row.set_spec(eff.get(name))
            doubted = eff.doubted.get(name)
            if eff.get(name) is None and doubted is not None:  # say why a fitting name is not used
                row.conf.setText("doubt")
                row.conf.setToolTip(
                    f"Not suggested: column {doubted.column!r} has a fitting name, but {doubted.doubt}."
                )
        self._show_counts()
        self.completeChanged.emit()

    def enter(self) -> None:
        self.populate()
        self.session.recheck(now=self.session.mapped is None)

    def field_edited(self, name: str, spec: FieldSpec | None) -> None:
        self.session.set_mapping_field(name, spec)
        self.note.setText("")
        self.note.hide()
        if spec is None:
            still = self.effective().get(name)
            if still is not None:  # the matcher suggests it again from the column names
                self.rows[name].set_spec(still)
                self.note.setText(
                    f"“{self.rows[name].field.label}” is suggested from {still.describe()} and this version "
                    "cannot leave a suggested field out; choose another column or a constant instead."
                )
                self.note.show()
        self.completeChanged.emit()

    def set_field(self, name: str, spec: FieldSpec | None) -> None:
        """Programmatic edit (tests, smoke test): as if the user had chosen ``spec`` for ``name``."""
        self.rows[name].set_spec(spec)
        self.session.set_mapping_field(name, spec)
        self.completeChanged.emit()

    # --- counts ------------------------------------------------------------------------------
    def _checking(self, on: bool) -> None:
        if on:
            self.summary.setText("<i>Checking…</i>")
        self.completeChanged.emit()

    def _show_counts(self) -> None:
        m = self.session.mapped
        if m is None:
            for row in self.rows.values():
                row.show_counts(None, 0, False)
            if not self.session.checking:
                self.summary.setText("")
            return
        n = len(m.items)
        counts = field_counts(m)
        for name, row in self.rows.items():
            row.show_counts(counts.get(name), n, name in m.mapping.fields)
        alt = self.rows["altitude"]
        if "altitude" not in m.mapping.fields and any(
            d in m.mapping.fields for d in sources_of("altitude")
        ):
            alt.conf.setText("from depth")
            alt.conf.setToolTip(
                "Altitude is minus the depth (plus the water surface altitude, for lakes)."
            )
        ready = int(m.ready.sum())
        tz_open = needs_timezone(m)
        self.tz_note.setVisible(tz_open)
        tz_row = self.rows.get("timezone")
        if tz_row is not None:
            tz_row.label.setStyleSheet("color:#b36b00; font-weight:bold" if tz_open else "")
        color = "#1b7a1b" if ready == n and not tz_open else "#b36b00"
        wait = " once the time zone is given" if tz_open else ""
        self.summary.setText(
            f"<span style='color:{color}; font-size:13pt'><b>{ready:,} of {n:,} images ready{wait}</b></span>"
        )
        self.completeChanged.emit()

    def counts(self) -> dict:
        """Per-field FieldCounts of the current check (for tests and the smoke test)."""
        return field_counts(self.session.mapped) if self.session.mapped is not None else {}

    # --- profiles ----------------------------------------------------------------------------
    def _load_profile(self) -> None:
        path = dialogs.open_file_name(
            self,
            self.session.settings,
            "Load a mapping profile",
            "Mapping profiles (*.json);;All files (*)",
            "profile",
        )
        if path:
            self.load_profile(Path(path))

    def load_profile(self, path: Path) -> None:
        try:
            m = load_profile(path)
        except UserError as exc:
            QMessageBox.warning(self, "Cannot load the profile", str(exc))
            return
        self.session.set_mapping(m)
        log.info("profile loaded: %s", path)
        self.populate()

    def _save_profile(self) -> None:
        path = dialogs.save_file_name(
            self,
            self.session.settings,
            "Save the mapping profile",
            "mapping-profile.json",
            "Mapping profiles (*.json)",
            "profile",
        )
        if path:
            self.save_profile(Path(path))

    def save_profile(self, path: Path) -> None:
        m = self.session.mapped.mapping if self.session.mapped is not None else self.effective()
        try:
            save_profile(m, path)
        except OSError as exc:
            QMessageBox.warning(self, "Cannot save the profile", f"{path}: {exc.strerror or exc}")
            return
        log.info("profile saved: %s", path)

    # --- may the user go on? ----------------------------------------------------------------
    def blocker(self) -> str:
        eff = self.effective()
        f = eff.fields
        missing = []
        for name in REQUIRED_FIELDS:
            if not any(x in f for x in sources_of(name)):
                missing.append(self.rows[name].field.label)
        if missing:
            return (
                "Choose where these come from: "
                + ", ".join(missing)
                + " (for altitude, depth will do)."
            )
        if self.session.project.dataset.get("global_interpolation") and "volume_sampled" not in f:
            return "The data may be used for interpolation: map the volume sampled (or give it on the first page)."
        if self.session.checking:
            return "Checking the mapping…"
        m = self.session.mapped
        if m is None:
            return "Checking the mapping…"
        if needs_timezone(m):
            return "Give the time zone of the local times in the Time zone row (UTC, +02:00, Europe/Paris)."
        if not m.ready.any() and not to_confirm(m):
            return "No image has every required field yet; look at the invalid and missing counts."
        return ""  # (images held back only by unusual values are confirmed on the Preview page)
