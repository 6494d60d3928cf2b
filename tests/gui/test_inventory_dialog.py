"""“List all my datasets…” on the first page, driven like a user: list a disk made of the real
instrument fixtures, sort the table, see the areas and times, export the CSV, stop a listing, and
start a project from a row (its folder becomes the source; the wizard goes to the Sources step)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from aqqua_packer.inventory import CSV_COLUMNS

from .conftest import wait_scanned

pytest.importorskip("pytestqt", reason="absent: pytest-qt, the GUI tests' Qt driver")

from inventory_tree import SHARED_FIXTURES, make_tree  # noqa: E402  (tests/inventory_tree.py)


@pytest.fixture(scope="module")
def disk(tmp_path_factory) -> Path:
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("absent: ../shared/fixtures is not present")
    return make_tree(tmp_path_factory.mktemp("gui-disk") / "disk")


def _listed(qtbot, dialog, root) -> None:
    worker = dialog.list_datasets(root)
    assert worker is not None
    with qtbot.waitSignal(worker.finished, timeout=60000):
        pass
    assert worker.outcome == "done", worker.error


def _column(dialog, name: str) -> list[str]:
    c = CSV_COLUMNS.index(name)
    m = dialog.table.model()
    return [m.index(r, c).data() for r in range(m.rowCount())]


def test_list_sort_export_and_start_a_project_from_a_row(qtbot, window, disk, tmp_path):
    w = window
    dialog = w.pages.about.open_inventory()
    qtbot.addWidget(dialog)
    assert dialog.isVisible()
    assert not dialog.export_btn.isEnabled() and not dialog.start_btn.isEnabled()
    _listed(qtbot, dialog, disk)

    # one row per dataset and one for the broken zip; the totals under the table
    assert dialog.table.model().rowCount() == 6
    assert "5 datasets" in dialog.totals.text() and "546 images" in dialog.totals.text()
    assert "could not be read" in dialog.totals.text()

    # sorting by the number of images, largest first: FlowCam (506) on top, the broken zip last
    c = CSV_COLUMNS.index("Images")
    dialog.table.horizontalHeader().setSortIndicator(c, Qt.SortOrder.DescendingOrder)
    assert _column(dialog, "Images") == ["506", "19", "15", "5", "1", ""]
    dialog.table.sortByColumn(CSV_COLUMNS.index("First sample (UTC)"), Qt.SortOrder.AscendingOrder)
    firsts = [f for f in _column(dialog, "First sample (UTC)") if f]
    assert firsts == sorted(firsts) and firsts[0] == "2013-05-26 09:52:07"

    # the map holds a box for each dataset with positions, the time line a bar for each with times
    assert {Path(r.path).name for r in dialog.map.rows} == {"uvp6", "m106"}
    assert len(dialog.timeline.rows) == 5
    dialog.map.grab()  # paints without error
    dialog.timeline.grab()

    # export the table for the form
    out = dialog.export_csv(tmp_path / "for-aqqua.csv")
    with out.open(encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.reader(fh))
    assert tuple(lines[0]) == CSV_COLUMNS and lines[-1][0] == "TOTAL" and len(lines) == 8

    # choosing a row highlights it on the map and the time line; then start a project from it
    ifcb = str(disk / "2013" / "ifcb-day")
    assert dialog.select_path(ifcb)
    assert dialog.selected_row().kind == "ifcb"
    assert dialog.map.selected == ifcb and dialog.timeline.selected == ifcb
    assert dialog.start_btn.isEnabled()
    dialog.select_path(str(disk / "broken" / "export.zip"))
    assert not dialog.start_btn.isEnabled()  # nothing to start from a zip that cannot be read
    dialog.select_path(ifcb)
    dialog.start_btn.click()
    assert not dialog.isVisible()
    assert w.wizard.index == 1  # the Sources step
    assert w.session.project.sources == [ifcb]
    wait_scanned(qtbot, w)
    assert sum(len(s.images) for s in w.session.all_scans()) == 19


def test_stop_ends_a_listing_and_lists_nothing(qtbot, window, disk):
    dialog = window.pages.about.open_inventory()
    qtbot.addWidget(dialog)
    worker = dialog.list_datasets(disk)
    assert dialog.stop_btn.isEnabled() and not dialog.list_btn.isEnabled()
    # the user clicks Stop as soon as the first progress shows (events are queued to this thread,
    # so the first one arrives here while the listing has barely begun)
    worker.progress.connect(lambda _ev: dialog.stop_btn.click())
    with qtbot.waitSignal(worker.finished, timeout=60000):
        pass
    assert worker.outcome == "cancelled"
    assert dialog.table.model().rowCount() == 0 and dialog.inventory is None
    assert "Stopped" in dialog.progress.label.text()
    assert dialog.list_btn.isEnabled() and not dialog.stop_btn.isEnabled()
    assert not dialog.export_btn.isEnabled()
