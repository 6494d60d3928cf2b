"""First use, as a lab member meets it (issue 14): at 1280×800 every visible text fits or has a
tooltip with the whole of it, no text asks for a command-line flag, nothing entered is lost
without a question, and the end of each step is plain.  The walk runs on the bundled sample data
and on a real instrument export; the sample walk runs again at 200 % (QT_SCALE_FACTOR=2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QWidget,
)

from aqqua_packer.gui.project import Project, home_dir
from aqqua_packer.resources import sample_data_dir

from .conftest import SAMPLE_MAPPING, apply_mapping, fill_about, wait_checked, wait_scanned

ROOT = Path(__file__).resolve().parents[2]


# --- what "fits" means -----------------------------------------------------------------------------
def _plain(text: str) -> str:
    if "<" in text and ">" in text:
        from PySide6.QtGui import QTextDocument

        doc = QTextDocument()
        doc.setHtml(text)
        return doc.toPlainText()
    return text


def _whole_in_tooltip(text: str, tip: str) -> bool:
    t, tip = " ".join(_plain(text).split()), " ".join(_plain(tip or "").split())
    return bool(t) and t.replace("…", "") in tip


def _shown_width(w: QWidget) -> int:
    """The width of the widget that is on screen (a scroll area may hide part of it)."""
    return min(w.width(), w.visibleRegion().boundingRect().width())


def _visible(w: QWidget) -> bool:
    return w.isVisible() and w.width() > 0 and w.height() > 0 and not w.visibleRegion().isEmpty()


def cut_texts(window) -> list[str]:
    """Every visible label, button, chooser, placeholder and table cell whose text does not fit
    and has no tooltip with the whole text; each as 'WidgetClass: text (needs N px, has M)'."""
    bad: list[str] = []

    def report(w, text, need, have):
        bad.append(f"{type(w).__name__} {w.objectName()!r}: {text!r} (needs {need} px, has {have})")

    for lab in window.findChildren(QLabel):
        if not _visible(lab) or lab.wordWrap() or not lab.text().strip():
            continue
        if lab.pixmap() is not None and not lab.pixmap().isNull():
            continue
        need = lab.sizeHint().width()
        if _shown_width(lab) + 1 < need and not _whole_in_tooltip(lab.text(), lab.toolTip()):
            report(lab, _plain(lab.text()), need, _shown_width(lab))
    for b in window.findChildren(QAbstractButton):
        text = b.text().replace("&", "")
        if not _visible(b) or not text.strip():
            continue
        if isinstance(b, QCheckBox | QRadioButton):
            need = b.sizeHint().width() - 2  # indicator and text, as the style lays them out
        else:
            extra = 8 + (b.iconSize().width() + 4 if not b.icon().isNull() else 0)
            need = b.fontMetrics().horizontalAdvance(text) + extra
        if _shown_width(b) < need and not _whole_in_tooltip(text, b.toolTip()):
            report(b, text, need, _shown_width(b))
    for c in window.findChildren(QComboBox):
        text = c.currentText()
        if not _visible(c) or not text or c.isEditable():
            continue
        need = c.fontMetrics().horizontalAdvance(text) + 28
        if _shown_width(c) < need and not _whole_in_tooltip(text, c.toolTip()):
            report(c, text, need, _shown_width(c))
    for e in window.findChildren(QLineEdit):
        ph = e.placeholderText()
        if not _visible(e) or e.text() or not ph or isinstance(e.parent(), QComboBox):
            continue
        need = e.fontMetrics().horizontalAdvance(ph) + 10
        if e.width() < need and not _whole_in_tooltip(ph, e.toolTip()):
            report(e, ph, need, e.width())
    for view in window.findChildren(QAbstractItemView):
        if not _visible(view) or view.model() is None:
            continue
        bad.extend(_cut_cells(view))
    return bad


def _columns(model) -> int:
    try:
        return model.columnCount(QModelIndex())
    except TypeError:  # a list model: one column
        return 1


def _cut_cells(view) -> list[str]:
    out: list[str] = []
    model = view.model()
    fm = view.fontMetrics()
    header = getattr(view, "header", None) or getattr(view, "horizontalHeader", None)
    if header is None:  # a list or a grid of thumbnails: their tooltips name each image
        return out
    h = header()
    step = view.indentation() if hasattr(view, "indentation") else 0

    def rows(parent: QModelIndex, depth: int) -> None:
        for row in range(min(model.rowCount(parent), 40)):
            for col in range(_columns(model)):
                if h.isSectionHidden(col):
                    continue
                idx = model.index(row, col, parent)
                text = model.data(idx, Qt.ItemDataRole.DisplayRole)
                if text is None or not str(text).strip():
                    continue
                text = str(text).split("\n")[0]
                indent = step * (depth + 1) if col == 0 and step else 0
                icon = 20 if model.data(idx, Qt.ItemDataRole.DecorationRole) is not None else 0
                need = fm.horizontalAdvance(text) + 6 + indent + icon
                have = h.sectionSize(col)
                tip = model.data(idx, Qt.ItemDataRole.ToolTipRole)
                if need > have and not _whole_in_tooltip(text, str(tip or "")):
                    out.append(
                        f"{type(view).__name__} cell {depth}:({row},{col}): {text!r} ({need} > {have})"
                    )
            first = model.index(row, 0, parent)
            if (
                depth < 3
                and model.hasChildren(first)
                and (not hasattr(view, "isExpanded") or view.isExpanded(first))
            ):
                rows(first, depth + 1)

    rows(QModelIndex(), 0)
    return out


def flag_texts(window) -> list[str]:
    """Visible texts (and their tooltips) that name a command-line flag."""
    found = []
    widgets = [*window.findChildren(QLabel), *window.findChildren(QAbstractButton)]
    widgets += window.findChildren(QLineEdit)
    for w in widgets:
        if not _visible(w):
            continue
        texts = [w.toolTip()]
        texts.append(w.placeholderText() if isinstance(w, QLineEdit) else w.text())
        found += [f"{type(w).__name__}: {t!r}" for t in texts if t and "--" in t]
    for view in window.findChildren(QAbstractItemView):
        if not _visible(view) or view.model() is None:
            continue
        m = view.model()
        for row in range(min(m.rowCount(QModelIndex()), 200)):
            for col in range(_columns(m)):
                for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                    t = m.data(m.index(row, col), role)
                    if isinstance(t, str) and "--" in t:
                        found.append(f"{type(view).__name__} cell ({row},{col}): {t!r}")
    return found


def assert_usable(qtbot, w, where: str) -> None:
    qtbot.wait(50)  # layouts settle
    cut = cut_texts(w)
    assert not cut, f"{where}: text cut without a tooltip:\n" + "\n".join(cut)
    flags = flag_texts(w)
    assert not flags, f"{where}: GUI text names a command-line flag:\n" + "\n".join(flags)


# --- the walks -----------------------------------------------------------------------------------
def _walk(qtbot, w, sources, mapping, out: Path) -> None:
    assert (w.width(), w.height()) == (1280, 800)
    assert_usable(qtbot, w, "About you (empty)")
    fill_about(w)
    assert_usable(qtbot, w, "About you")
    assert w.wizard.next()
    w.add_sources(sources)
    wait_scanned(qtbot, w)
    assert_usable(qtbot, w, "Sources")
    assert w.wizard.next(), w.wizard.current.blocker()
    wait_checked(qtbot, w)
    apply_mapping(qtbot, w, mapping)
    assert_usable(qtbot, w, "Map fields")
    assert w.wizard.next(), w.wizard.current.blocker()
    w.pages.preview.set_ready_only(True)
    assert_usable(qtbot, w, "Preview")
    assert w.wizard.next(), w.wizard.current.blocker()
    assert_usable(qtbot, w, "Pack (before)")
    assert "decoded pixels" in w.pages.pack.size_note.text()
    w.pages.pack.out.setText(str(out))
    with qtbot.waitSignal(w.pack_finished, timeout=120000):
        w.pages.pack.start_btn.click()
    assert_usable(qtbot, w, "Pack (done)")
    assert w.pages.pack.open_btn.isVisible() and w.pages.pack.open_btn.isEnabled()
    assert w.wizard.next()
    assert_usable(qtbot, w, "Send")


def test_the_wizard_on_the_sample_data_fits_1280x800_and_names_no_flag(qtbot, window, tmp_path):
    _walk(qtbot, window, [sample_data_dir()], SAMPLE_MAPPING, tmp_path / "pkg")


def test_the_wizard_on_a_real_zooscan_export_fits_1280x800(
    qtbot, window, tmp_path, shared_fixtures
):
    from aqqua_packer.mapping import FieldSpec

    mapping = {
        "latitude": FieldSpec(column="object_lat"),
        "longitude": FieldSpec(column="object_lon"),
        "date": FieldSpec(column="object_date"),
        "time": FieldSpec(column="object_time"),
        "depth_min": FieldSpec(column="object_depth_min", unit="m"),
        "depth_max": FieldSpec(column="object_depth_max", unit="m"),
        "pixel_size": FieldSpec(column="process_pixel", unit="um"),
        "image": FieldSpec(column="img_file_name"),
    }
    _walk(qtbot, window, [shared_fixtures / "zooscan"], mapping, tmp_path / "pkg")


@pytest.mark.skipif(os.environ.get("QT_SCALE_FACTOR") == "2", reason="this is the 200 % run")
def test_the_sample_walk_also_fits_at_200_percent_scaling(tmp_path):
    env = {
        **os.environ,
        "QT_SCALE_FACTOR": "2",
        "PYTHONPATH": str(ROOT),
        "QT_QPA_PLATFORM": "offscreen",
    }
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"{__file__}::test_the_wizard_on_the_sample_data_fits_1280x800_and_names_no_flag",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


# --- one test per item that a user meets ----------------------------------------------------------
def test_the_time_zone_is_asked_on_the_map_page_and_local_times_are_not_called_utc(
    qtbot, window, shared_fixtures
):
    w = window
    fill_about(w)
    w.wizard.next()
    w.add_sources([shared_fixtures / "flowcam"])
    wait_scanned(qtbot, w)
    assert w.wizard.next(), w.wizard.current.blocker()
    wait_checked(qtbot, w)
    from aqqua_packer.mapping import FieldSpec

    mp = w.pages.mapping
    for name, value in (("latitude", "43.7"), ("longitude", "7.3"), ("altitude", "-5")):
        mp.set_field(name, FieldSpec(constant=value))
    wait_checked(qtbot, w)
    qtbot.waitUntil(lambda: mp.tz_note.isVisible())
    assert "Time zone row" in mp.tz_note.text() and "--" not in mp.tz_note.text()
    assert "Time zone row" in mp.blocker()  # the images do not count as ready silently
    assert "once the time zone is given" in mp.summary.text()
    w.pages.preview.hist.set_times(["2024-05-01T10:00:00Z"], local=True)
    assert "UTC" not in w.pages.preview.hist.toolTip().split(".")[0]

    mp.set_field("timezone", FieldSpec(constant="Europe/Berlin"))
    wait_checked(qtbot, w)
    qtbot.waitUntil(lambda: not mp.tz_note.isVisible())
    assert "Time zone" not in mp.blocker()


def test_new_project_asks_before_dropping_sources_and_mapping_and_keeps_a_copy(qtbot, window):
    w = window
    fill_about(w, "Cruise 42")
    w.wizard.next()
    w.add_sources([sample_data_dir()])
    wait_scanned(qtbot, w)
    answers = []

    def answer(button_text: str):
        def click():
            box = w.new_project_question
            if box is None:
                QTimer.singleShot(20, click)
                return
            answers.append(box.text())
            next(b for b in box.buttons() if b.text() == button_text).click()

        QTimer.singleShot(20, click)

    answer("Keep working on this one")
    assert not w.new_project()
    assert w.session.project.sources  # nothing lost
    assert "Cruise 42" in answers[0]
    answer("Start a new project")
    assert w.new_project()
    assert not w.session.project.sources
    kept = Project.load(home_dir() / "previous-project.json")
    assert kept is not None and kept.sources and kept.dataset["name"] == "Cruise 42"


def test_a_doubtful_suggestion_is_marked_with_its_reason(qtbot, window):
    from aqqua_packer.mapping import FieldSpec

    w = window
    fill_about(w)
    w.wizard.next()
    w.add_sources([sample_data_dir()])
    wait_scanned(qtbot, w)
    w.wizard.next()
    wait_checked(qtbot, w)
    row = w.pages.mapping.rows["label"]
    row.set_spec(FieldSpec(column="label", origin="suggested", confidence=0.9, reason="a name"))
    assert "⚠" not in row.conf.text()
    w.session.all_scans()[0].suggested.setdefault("fields", {})["label"] = {
        "column": "label",
        "doubt": "the column holds only 0, 1 and 2",
    }
    row.set_spec(FieldSpec(column="label", origin="suggested", confidence=0.9, reason="a name"))
    assert "⚠" in row.conf.text()
    assert "only 0, 1 and 2" in row.conf.toolTip()
    row.set_spec(FieldSpec(column="depth_m", origin="suggested", confidence=0.4))
    w.session.all_scans()[0].suggested["fields"].pop("label")
    row.set_spec(FieldSpec(column="depth_m", origin="suggested", confidence=0.4))
    assert "⚠" in row.conf.text() and "40%" in row.conf.toolTip()


def test_a_reopened_project_shows_its_package_as_packed_and_verified(qtbot, tmp_path, window):
    from aqqua_packer.gui.main_window import MainWindow

    _walk_to_packed = _walk  # the sample walk packs and verifies
    _walk_to_packed(qtbot, window, [sample_data_dir()], SAMPLE_MAPPING, tmp_path / "pkg")
    qtbot.waitUntil(lambda: window.session.project.pack_verified, timeout=60000)
    send = window.pages.send
    (tmp_path / "drive").mkdir()
    send.set_destination({"kind": "folder", "folder": str(tmp_path / "drive")})
    assert send.test_btn.text() == "Check the folder"  # not "Test connection" for a drive
    with qtbot.waitSignal(window.send_finished, timeout=60000):
        send.send_btn.click()
    assert (
        "Done" in send.progress.label.text()
        and str(tmp_path / "drive") in send.progress.label.text()
    )
    window.save_project()
    again = MainWindow(Project.load(window.project_file), offer_continue=False)
    qtbot.addWidget(again)
    text = again.pages.pack.progress.label.text()
    assert "packed and verified" in text and str(tmp_path / "pkg") in text
    assert again.pages.pack.progress.bar.value() == again.pages.pack.progress.bar.maximum()
    again.show()
    again.wizard.go_to(5, force=True)
    assert "Done" in again.pages.send.progress.label.text()  # the upload's real state too
    again.close()


def test_file_dialogs_start_in_the_folder_last_used(qtbot, window, tmp_path):
    from aqqua_packer.gui import dialogs

    s = window.session.settings
    assert dialogs.last_folder(s, "sources") == str(Path.home())
    dialogs.remember(s, "sources", tmp_path / "cruise")  # not a folder yet: its parent
    assert dialogs.last_folder(s, "sources") == str(tmp_path)
    (tmp_path / "pkgs").mkdir()
    dialogs.remember(s, "package", tmp_path / "pkgs")
    assert dialogs.last_folder(s, "package") == str(tmp_path / "pkgs")
    assert dialogs.last_folder(s, "profile") == str(tmp_path / "pkgs")  # the last of any kind
    from aqqua_packer.gui.project import Settings

    assert dialogs.last_folder(Settings(), "package") == str(tmp_path / "pkgs")  # remembered


def test_f1_help_is_the_lab_guide_with_the_six_steps_and_names_no_flag(qtbot, window):
    window.show_help()
    text = window.help_dialog.browser.toPlainText()
    for step in ("About you", "Sources", "Map fields", "Preview gaps", "Pack", "Send"):
        assert step in text
    for topic in ("What AqQua needs", "When a field is missing", "Stopping and resuming"):
        assert topic in text
    assert len(text.splitlines()) > 20 and "--" not in text
    window.help_dialog.close()


def test_no_problem_or_suggestion_the_wizard_shows_names_a_command_line_flag(shared_fixtures):
    """Readers and the mapping speak to both the wizard and the CLI: in neither's flags."""
    from aqqua_packer.workflow import Request, check

    sources = [sample_data_dir(), *sorted(p for p in shared_fixtures.iterdir() if p.is_dir())]
    for src in sources:
        m = check(Request(sources=[src]))
        texts = [p.message for p in m.problems]
        for s in m.scans:
            for spec in [
                *(s.suggested or {}).get("fields", {}).values(),
                *(s.suggested or {}).get("to_confirm", {}).values(),
            ]:
                if isinstance(spec, dict):
                    texts.append(str(spec.get("reason", "")))
        flagged = [t for t in texts if "--" in t]
        assert not flagged, f"{src.name}: {flagged[:3]}"


def test_a_pack_that_stops_gives_its_advice_in_the_windows_words(qtbot, window, tmp_path):
    from aqqua_packer.package.write import gap_summary
    from aqqua_packer.workflow import Request, check

    mapped = check(Request(sources=[sample_data_dir()]))  # 3 of 40 images not ready
    core = gap_summary(mapped)
    assert "--skip-incomplete" in core  # the command line's advice
    pack = window.pages.pack
    pack._failed(core)  # what the pack worker reports when packing stops
    said = pack.summary.toPlainText() + pack.progress.label.text()
    assert "Preview page" in said and "--" not in said
    worker = "A worker process stopped unexpectedly. Run the same command again to continue (or use --workers 1)."
    pack._failed(worker)
    assert pack.summary.toPlainText().endswith("Press “Resume” to continue.")


def test_starting_afresh_from_the_continue_banner_keeps_the_saved_project(qtbot):
    from aqqua_packer.gui.main_window import MainWindow
    from aqqua_packer.gui.project import project_path

    Project(sources=[str(sample_data_dir())], dataset={"name": "Cruise 42"}).save(project_path())
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    assert w.banner.isVisible()
    w.discard_btn.click()
    kept = Project.load(home_dir() / "previous-project.json")
    assert kept is not None and kept.dataset["name"] == "Cruise 42" and kept.sources
    assert "previous-project.json" in w.statusBar().currentMessage()
    w.close()
