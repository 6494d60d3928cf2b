"""The wizard's “My data is on EcoTaxa” dialog with real widgets (pytest-qt, offscreen) against the
stand-in EcoTaxa server: log in, see the projects, tick one, see the dry run, share it, and find
the sharing (and the reminder to take it back) in the saved project."""

from __future__ import annotations

import pytest
from conftest import AQQUA, PASSWORD
from PySide6.QtCore import Qt

pytest.importorskip("pytestqt", reason="absent: pytest-qt, the GUI tests' Qt driver")


@pytest.fixture
def sources_page(qtbot):
    from aqqua_packer.gui.pages.sources import SourcesPage
    from aqqua_packer.gui.project import Project
    from aqqua_packer.gui.session import Session

    page = SourcesPage(Session(Project()))
    qtbot.addWidget(page)
    page.show()
    return page


def test_dialog_lists_projects_and_shares_after_a_dry_run(qtbot, ecotaxa, sources_page):
    dlg = sources_page.open_ecotaxa()
    qtbot.addWidget(dlg)
    dlg.server.setText(ecotaxa.url)
    dlg.email.setText("alice@lab.org")
    dlg.password.setText(PASSWORD)
    qtbot.mouseClick(dlg.login_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.table.rowCount() == 4 and not dlg.busy(), timeout=10000)
    rows = {
        dlg.table.item(r, 1).text(): [
            dlg.table.item(r, c).text() for c in range(dlg.table.columnCount())
        ]
        for r in range(dlg.table.rowCount())
    }
    assert rows["101"][2:] == [
        "Zooscan Bay of Biscay 2019",
        "Zooscan",
        "5",
        "40",
        "private",
        "Bob Stone <bob@lab.org>",
        "Manage",
        "no",
    ]
    assert rows["102"][-1] == "yes (View)" and rows["103"][-2] == "Annotate"
    assert dlg.password.text() == ""  # not kept in the widget either

    row_101 = next(r for r in range(4) if dlg.table.item(r, 1).text() == "101")
    dlg.table.item(row_101, 0).setCheckState(Qt.CheckState.Checked)
    qtbot.mouseClick(dlg.share_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.confirm_btn.isVisible() and not dlg.busy(), timeout=10000)
    text = dlg.results.toPlainText()
    assert "nothing has been changed yet" in text and "would be added as a viewer" in text
    assert ecotaxa.changing_requests() == []  # the dry run changed nothing
    assert dlg.confirm_btn.text() == "Share 1 project(s) now"

    qtbot.mouseClick(dlg.confirm_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Done:" in dlg.results.toPlainText() and not dlg.busy(), timeout=10000)
    assert "was added as a viewer" in dlg.results.toPlainText()
    assert ecotaxa.state.privileges[101][AQQUA] == "View"
    state = sources_page.session.project.ecotaxa
    assert list(state["shared"]) == ["101"] and state["user"] == "alice@lab.org"
    assert "token" not in str(state).lower() and PASSWORD not in str(state)
    dlg.accept()
    assert (
        "come back here and click “Take back AqQua's access”"
        in sources_page.ecotaxa_reminder.text()
    )


def test_download_and_pack_adds_the_export_as_a_source(
    qtbot, ecotaxa, sources_page, tmp_path, monkeypatch
):
    dlg = sources_page.open_ecotaxa()
    qtbot.addWidget(dlg)
    dlg.server.setText(ecotaxa.url)
    dlg.email.setText("alice@lab.org")
    dlg.password.setText(PASSWORD)
    qtbot.mouseClick(dlg.login_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.table.rowCount() == 4 and not dlg.busy(), timeout=10000)
    row_104 = next(r for r in range(4) if dlg.table.item(r, 1).text() == "104")
    dlg.table.item(row_104, 0).setCheckState(Qt.CheckState.Checked)
    dlg.download_dir = str(tmp_path)
    dlg.poll_seconds = 0.01
    qtbot.mouseClick(dlg.download_btn, Qt.MouseButton.LeftButton)
    src = str((tmp_path / "ecotaxa_104").resolve())
    qtbot.waitUntil(lambda: src in sources_page.session.project.sources, timeout=20000)
    qtbot.waitUntil(lambda: not sources_page.busy(), timeout=30000)
    assert sources_page.image_count() == 5
    assert "with 5 images" in dlg.results.toPlainText()
