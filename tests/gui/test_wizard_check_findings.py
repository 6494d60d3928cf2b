"""What `check` finds shows in the wizard too: unreadable images in the preview, doubted columns
on the Map page."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from .conftest import fill_about, wait_checked, wait_scanned


def _png(seed: int) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 255, (32, 32), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def test_preview_names_a_cut_short_image_and_counts_it_not_ready(qtbot, window, tmp_path):
    src = tmp_path / "d"
    src.mkdir()
    (src / "a.png").write_bytes(_png(1))
    (src / "b.png").write_bytes(_png(2))
    (src / "cut.png").write_bytes(_png(3)[:200])
    (src / "meta.csv").write_text(
        "file,latitude,longitude,datetime,depth_m,pixel_size_um\n"
        + "".join(
            f"{n},43.1,7.2,2024-05-01T10:00:00Z,5,10.6\n" for n in ("a.png", "b.png", "cut.png")
        )
    )
    w = window
    fill_about(w)
    assert w.wizard.next()
    w.add_sources([src])
    wait_scanned(qtbot, w)
    assert w.wizard.next(), w.wizard.current.blocker()
    wait_checked(qtbot, w)
    assert w.wizard.next(), w.wizard.current.blocker()
    prev = w.pages.preview
    assert "2 of 3 images ready" in prev.counts_label.text()
    assert "image cannot be read (1 value)" in prev.counts_label.text()  # plain words (issue 14)
    rows = [p for p in prev.model.problems if p.kind == "unreadable_image"]
    assert [p.file for p in rows] == ["cut.png"]
    assert rows[0].message.startswith("the PNG is cut short")
    assert not w.wizard.next_btn.isEnabled()  # a choice is needed: fix it or pack the ready ones


def test_map_page_marks_a_doubted_column_and_says_why(qtbot, window, tmp_path):
    src = tmp_path / "d"
    src.mkdir()
    lines = ["file,latitude,longitude,datetime,depth_m,pixel_size_um,label"]
    for k in range(3):
        (src / f"i{k}.png").write_bytes(_png(k))
        lines.append(f"i{k}.png,43.1,7.2,2024-05-01T10:00:00Z,5,10.6,{k}")
    (src / "meta.csv").write_text("\n".join(lines) + "\n")
    w = window
    fill_about(w)
    assert w.wizard.next()
    w.add_sources([src])
    wait_scanned(qtbot, w)
    assert w.wizard.next(), w.wizard.current.blocker()
    wait_checked(qtbot, w)
    row = w.pages.mapping.rows["label"]
    assert row.conf.text() == "doubt"
    assert "small whole numbers (0, 1, 2)" in row.conf.toolTip()
    assert w.pages.mapping.effective().get("label") is None
