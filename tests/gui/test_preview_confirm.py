"""The preview page's confirmation of suspicious values: a checkbox per suspicious kind in the
report, ticking it makes those images ready, the project keeps it, the package records it; an
impossible value gets no checkbox."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from aqqua_packer.gui.project import Project
from aqqua_packer.mapping import FieldSpec
from aqqua_packer.package import layout

from .conftest import apply_mapping, fill_about, wait_checked, wait_scanned


def _source(folder: Path, rows: list[tuple[str, str, str]]) -> Path:
    folder.mkdir()
    lines = ["file,lat,lon,when,pixel,depth"]
    for i, (lat, lon, when) in enumerate(rows):
        Image.new("L", (8, 6), 50 + i).save(folder / f"im{i}.png")
        lines.append(f"im{i}.png,{lat},{lon},{when},10,5")
    (folder / "meta.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


MAPPING = {
    "image": FieldSpec(column="file"),
    "latitude": FieldSpec(column="lat"),
    "longitude": FieldSpec(column="lon"),
    "datetime": FieldSpec(column="when"),
    "pixel_size": FieldSpec(column="pixel", unit="um"),
    "depth": FieldSpec(column="depth", unit="m"),
}


def _to_preview(qtbot, w, src: Path) -> None:
    fill_about(w)
    assert w.wizard.next()
    w.add_sources([src])
    wait_scanned(qtbot, w)
    assert w.wizard.next(), w.wizard.current.blocker()
    wait_checked(qtbot, w)
    apply_mapping(qtbot, w, MAPPING)
    assert w.wizard.next()


def test_ticking_a_suspicious_kind_makes_its_images_ready_and_is_kept_and_recorded(
    qtbot, window, tmp_path
):
    src = _source(
        tmp_path / "src",
        [("43.68", "7.32", "1970-01-01T00:00:00Z"), ("43.68", "7.32", "2021-06-02T10:00:00Z")],
    )
    w = window
    _to_preview(qtbot, w, src)
    prev = w.pages.preview
    assert int(w.session.mapped.ready.sum()) == 1
    box = prev.confirm_boxes["default_date"]
    assert not box.isChecked() and "(1)" in box.text()
    box.setChecked(True)
    wait_checked(qtbot, w)
    assert int(w.session.mapped.ready.sum()) == 2
    assert prev.confirm_boxes["default_date"].isChecked()  # rebuilt, still ticked
    # the project (saved as the user goes) carries it
    w.session.project.save(tmp_path / "project.json")
    assert Project.load(tmp_path / "project.json").mapping["accepted"] == ["default_date"]
    # and the package says who accepted what
    assert w.wizard.next(), w.wizard.current.blocker()
    w.pages.pack.out.setText(str(tmp_path / "pkg"))
    with qtbot.waitSignal(w.pack_finished, timeout=120000):
        w.pages.pack.start_btn.click()
    [rec] = layout.read_image_set(tmp_path / "pkg")["aqqua"]["accepted"]
    assert rec["kind"] == "default_date" and rec["accepted-by"] == "Ada Lovelace <ada@example.org>"


def test_an_impossible_value_gets_no_checkbox_only_a_reason(qtbot, window, tmp_path):
    src = _source(
        tmp_path / "src",
        [("46.0", "2.0", "2021-06-02T10:00:00Z"), ("43.68", "7.32", "2022-06-02T10:00:00Z")],
    )  # central France, then Villefranche a year later
    w = window
    _to_preview(qtbot, w, src)
    prev = w.pages.preview
    assert prev.confirm_boxes == {}
    assert "position on land" in prev.confirm_label.text()
    assert "cannot be right" in prev.confirm_label.text()


def test_when_every_image_is_only_held_back_by_an_unusual_value_the_map_page_lets_the_user_confirm_it(
    qtbot, window, tmp_path
):
    """All images at the 1970 default date: nothing is ready, yet the way on to the Preview page,
    where the value can be confirmed, stays open (else the user would be stuck on the Map page)."""
    src = _source(
        tmp_path / "src",
        [("43.68", "7.32", "1970-01-01T00:00:00Z"), ("43.68", "7.32", "1970-01-01T00:00:00Z")],
    )
    w = window
    _to_preview(qtbot, w, src)  # asserts that Next on the Map page was taken
    assert int(w.session.mapped.ready.sum()) == 0
    box = w.pages.preview.confirm_boxes["default_date"]
    box.setChecked(True)
    wait_checked(qtbot, w)
    assert int(w.session.mapped.ready.sum()) == 2
