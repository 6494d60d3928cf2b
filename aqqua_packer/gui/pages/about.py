"""Step 1: who contributes, under which licence, what the data is.  Remembered for next time."""

from __future__ import annotations

import re

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QWidget,
)

from .base import Page

INSTRUMENTS = [
    ("", ""),
    ("PlanktoScope", "PlanktoScope"),
    ("UVP5", "UVP"),
    ("UVP6", "UVP"),
    ("FlowCam", "FlowCam"),
    ("IFCB", "IFCB"),
    ("ZooScan", "ZooScan"),
    ("Microscope", "microscope"),
    ("Other", "other"),
]
REMEMBERED = ("contributor", "institution", "email", "coauthors", "licence")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AboutPage(Page):
    title = "About you and the data"
    subtitle = "Who is contributing, under which licence, and what the images are. Your answers are remembered for the next dataset."
    dataset_chosen = Signal(str)  # "Start a project from this row" in the list of all datasets

    def __init__(self, session, parent=None):
        super().__init__(session, parent)
        you = QGroupBox("You")
        f = QFormLayout(you)
        self.contributor = QLineEdit(placeholderText="Your full name")
        self.contributor.setToolTip(
            "The person sending the data; AqQua will credit and contact you."
        )
        self.institution = QLineEdit(placeholderText="Institute or lab")
        self.email = QLineEdit(placeholderText="name@institute.org")
        self.email.setToolTip("Where AqQua can reach you about this dataset.")
        self.coauthors = QPlainTextEdit(placeholderText="One co-author per line (optional)")
        self.coauthors.setFixedHeight(64)
        self.coauthors.setToolTip("People to credit alongside you, one per line.")
        f.addRow("Contributor *", self.contributor)
        f.addRow("Institution", self.institution)
        f.addRow("E-mail *", self.email)
        f.addRow("Co-authors", self.coauthors)

        data = QGroupBox("The data")
        g = QFormLayout(data)
        self.name = QLineEdit(placeholderText="e.g. Helgoland Roads zooplankton 2025")
        self.name.setToolTip("A short name people will recognise the dataset by.")
        self.instrument = QComboBox(editable=True)
        for label, _ in INSTRUMENTS:
            self.instrument.addItem(label)
        self.instrument.setToolTip(
            "The instrument that took the images (you may type another, e.g. IFCB013)."
        )
        lic = QWidget()
        lh = QHBoxLayout(lic)
        lh.setContentsMargins(0, 0, 0, 0)
        self.cc_by = QRadioButton("CC-BY-4.0 (credit required)")
        self.cc0 = QRadioButton("CC0 (public domain)")
        self.cc_by.setChecked(True)
        self.cc_by.setToolTip("Anyone may use the images if they credit you. The usual choice.")
        self.cc0.setToolTip("Anyone may use the images for anything, without credit.")
        lh.addWidget(self.cc_by)
        lh.addWidget(self.cc0)
        lh.addStretch(1)
        self.interp = QCheckBox("The data may be used for global interpolation (plankton maps)")
        self.interp.setToolTip(
            "Quantitative use: AqQua may combine counts across datasets to map plankton worldwide. "
            "This needs the volume of water imaged per image."
        )
        self.volume = QLineEdit(
            placeholderText="litres per image, or leave empty and map a column on the Map fields page"
        )
        self.volume.setToolTip("The volume of water imaged for each image, in litres.")
        self.description = QPlainTextEdit(
            placeholderText="Anything a user of the data should know (optional)"
        )
        self.description.setFixedHeight(56)
        g.addRow("Dataset name *", self.name)
        g.addRow("Instrument", self.instrument)
        g.addRow("Licence", lic)
        g.addRow("", self.interp)
        g.addRow("Volume sampled (L)", self.volume)
        g.addRow("Description", self.description)
        self._vol_row = g

        self.outer.addWidget(you)
        self.outer.addWidget(data)
        self.list_all = QPushButton("List all my datasets… (for AqQua's data sharing form)")
        self.list_all.setToolTip(
            "Every dataset on a disk or share, with its size, time, area and readiness"
        )
        self.list_all.clicked.connect(self.open_inventory)
        row = QHBoxLayout()
        row.addWidget(self.list_all)
        row.addStretch(1)
        self.outer.addLayout(row)
        self.outer.addStretch(1)

        self.remember = True  # False while example answers fill the page (sample data)
        self._load()
        for w in (self.contributor, self.institution, self.email, self.name, self.volume):
            w.textChanged.connect(self._changed)
        for w in (self.coauthors, self.description):
            w.textChanged.connect(self._changed)
        self.instrument.currentTextChanged.connect(self._changed)
        self.cc_by.toggled.connect(self._changed)
        self.interp.toggled.connect(self._changed)
        self._update_volume()

    def open_inventory(self):
        from ..inventory_dialog import InventoryDialog

        dialog = InventoryDialog(self)
        dialog.project_requested.connect(self.dataset_chosen)
        dialog.open()
        return dialog

    # --- load / save -------------------------------------------------------------------------
    def _load(self) -> None:
        d = dict(self.session.settings.get("about", {}) or {})
        d.update({k: v for k, v in self.session.project.dataset.items() if v not in ("", None, [])})
        self.contributor.setText(d.get("contributor", ""))
        self.institution.setText(d.get("institution", ""))
        self.email.setText(d.get("email", ""))
        self.coauthors.setPlainText("\n".join(d.get("coauthors", []) or []))
        self.name.setText(d.get("name", ""))
        self.instrument.setCurrentText(d.get("sensor", ""))
        (self.cc0 if d.get("licence") == "CC0-1.0" else self.cc_by).setChecked(True)
        self.interp.setChecked(bool(d.get("global_interpolation")))
        self.volume.setText(self.session.project.volume_sampled)
        self.description.setPlainText(d.get("description", ""))

    def info(self) -> dict:
        sensor = self.instrument.currentText().strip()
        family = next(
            (
                fam
                for label, fam in INSTRUMENTS
                if label and sensor.lower().startswith(label.lower())
            ),
            "",
        )
        return {
            "name": self.name.text().strip(),
            "contributor": self.contributor.text().strip(),
            "institution": self.institution.text().strip(),
            "email": self.email.text().strip(),
            "coauthors": [
                c.strip() for c in self.coauthors.toPlainText().splitlines() if c.strip()
            ],
            "licence": "CC0-1.0" if self.cc0.isChecked() else "CC-BY-4.0",
            "sensor": sensor,
            "sensor_family": family,
            "global_interpolation": self.interp.isChecked(),
            "description": self.description.toPlainText().strip(),
        }

    def _update_volume(self) -> None:
        on = self.interp.isChecked()
        self.volume.setEnabled(on)
        self.volume.setVisible(on)
        label = self._vol_row.labelForField(self.volume)
        if label is not None:
            label.setVisible(on)

    def _changed(self) -> None:
        self._update_volume()
        p = self.session.project
        p.dataset = self.info()
        vol = self.volume.text().strip() if self.interp.isChecked() else ""
        if vol != p.volume_sampled:
            p.volume_sampled = vol
            self.session.recheck()
        self.session.touch()
        self.completeChanged.emit()

    def leave(self) -> None:
        if not self.remember:
            return
        info = self.info()
        self.session.settings.set("about", {k: info[k] for k in REMEMBERED})

    def blocker(self) -> str:
        i = self.info()
        if not i["contributor"]:
            return "Enter your name."
        if not EMAIL.match(i["email"]):
            return "Enter an e-mail address where AqQua can reach you."
        if not i["name"]:
            return "Give the dataset a name."
        vol = self.volume.text().strip()
        if i["global_interpolation"] and vol:
            try:
                if float(vol.replace(",", ".")) <= 0:
                    raise ValueError
            except ValueError:
                return "The volume sampled must be a positive number of litres."
        return ""
