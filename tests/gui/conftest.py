"""Helpers for driving the real wizard with pytest-qt: a window, and waits that spin the event
loop until the background work the user would wait for is done."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt", reason="absent: pytest-qt, the GUI tests' Qt driver")

from aqqua_packer.mapping import FieldSpec  # noqa: E402

# The sample data's columns, as a user maps them on the Map page.
SAMPLE_MAPPING = {
    "image": FieldSpec(column="image_file"),
    "datetime": FieldSpec(column="date_time_utc"),
    "latitude": FieldSpec(column="latitude"),
    "longitude": FieldSpec(column="longitude"),
    "depth": FieldSpec(column="depth_m", unit="m"),
    "pixel_size": FieldSpec(column="pixel_size_um", unit="um"),
}
SAMPLE_CLI_MAPS = [
    "image=image_file",
    "datetime=date_time_utc",
    "latitude=latitude",
    "longitude=longitude",
    "depth=depth_m",
    "pixel_size=pixel_size_um",
]


@pytest.fixture
def window(qtbot):
    from aqqua_packer.gui.main_window import MainWindow

    w = MainWindow(offer_continue=False)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


def fill_about(w, name: str = "Test dataset") -> None:
    a = w.pages.about
    a.contributor.setText("Ada Lovelace")
    a.email.setText("ada@example.org")
    a.name.setText(name)
    a.institution.setText("Analytical Engines Ltd")


def wait_scanned(qtbot, w, timeout: int = 30000) -> None:
    qtbot.waitUntil(lambda: not w.pages.sources.busy(), timeout=timeout)


def wait_checked(qtbot, w, timeout: int = 30000) -> None:
    qtbot.waitUntil(
        lambda: w.session.mapped is not None and not w.session.checking, timeout=timeout
    )


def apply_mapping(qtbot, w, mapping: dict) -> None:
    for name, spec in mapping.items():
        w.pages.mapping.set_field(name, spec)
    wait_checked(qtbot, w)
