"""The mapping's images are held by column (``Items``): what it gives back per image and per column
agrees with the scans, across several parts."""

from __future__ import annotations

import numpy as np
from pkgtools import MAPS, plankton_dataset

from aqqua_packer.mapping.apply import FieldState
from aqqua_packer.workflow import Request, check


def _two_parts(tmp_path):
    root = tmp_path / "src"
    for part, seed, n in (("day1", 1, 5), ("day2", 2, 4)):
        plankton_dataset(root / part, n, seed=seed)
        table = root / part / "meta.csv"
        lines = table.read_text(encoding="utf-8").splitlines(keepends=True)
        table.write_text("".join(lines[:2] + lines[3:]), encoding="utf-8")  # image 1 loses its row
    return check(Request([root / "day1", root / "day2"], maps=MAPS))


def test_items_agree_with_the_scans_they_come_from(tmp_path):
    mapped = _two_parts(tmp_path)
    items = mapped.items
    assert len(items) == 9 and len(mapped.scans) == 2
    expected = [(si, im) for si, s in enumerate(mapped.scans) for im in s.images]
    assert [(it.scan, it.image) for it in items] == expected
    assert [items.name(i) for i in range(9)] == [im.name for _, im in expected]
    assert items.sizes().tolist() == [im.size for _, im in expected] and all(items.sizes() > 0)
    assert list(items.refs()) == [im for _, im in expected]
    assert items.refs()[-1] == expected[-1][1]
    # every image's file name in the converted table, in item order, as Arrow-backed text
    assert mapped.converted["image-filename"].tolist() == [im.name for _, im in expected]
    # rows: the image that lost its row in each part has none; the others have their own
    rows = [it.row for it in items]
    assert rows.count(None) == 2 and (items.row < 0).sum() == 2
    for i, it in enumerate(items):
        if it.row is not None:
            assert mapped.raw_row(i)["file"] == it.image.name.rsplit("/", 1)[-1]
    assert items[2:4] == [items[2], items[3]]


def test_rows_without_images_are_found_without_a_set_of_every_row(tmp_path):
    src = plankton_dataset(tmp_path / "src", 6, seed=3)
    (src / "img_000004.png").unlink()
    mapped = check(Request([src], maps=MAPS))
    orphans = [p for p in mapped.problems if p.kind == "row_without_image"]
    assert [(p.row, p.value) for p in orphans] == [(6, "img_000004.png")]
    assert len(mapped.items) == 5 and mapped.ready.all()


def test_field_state_keeps_problem_kinds_as_codes():
    kinds = np.array([None, "missing", None, "out_of_range", "missing"], dtype=object)
    st = FieldState(np.array([0, 1, 0, 2, 1], dtype=np.int8), kinds)
    assert st.kind.tolist() == kinds.tolist()
    assert st._codes.dtype == np.int8 and st.counts() == (2, 2, 1)
    assert st._status is None  # the status follows from the kinds: not stored
    assert st.status.tolist() == [0, 1, 0, 2, 1]
    odd = FieldState(np.array([0, 2, 0, 2, 1], dtype=np.int8), kinds)  # one that does not
    assert odd.status.tolist() == [0, 2, 0, 2, 1] and odd.counts() == (2, 1, 2)


def test_rows_join_images_by_path_name_or_stem_first_row_winning(tmp_path):
    """The join as users write their tables: any case, Windows separators, blanks around, a stem
    or a bare file name; a second row naming the same image is a warning and the first is used."""
    from PIL import Image

    src = tmp_path / "src"
    (src / "Day1").mkdir(parents=True)
    for name in ("Day1/IMG_1.png", "Day1/img_2.png", "img_3.png", "img_4.png"):
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(src / name)
    table = "file,lat\n day1\\IMG_1.PNG ,1\nimg_2,2\nIMG_3.png,3\nimg_3.png,33\nnothing.png,5\n"
    (src / "meta.csv").write_text(table, encoding="utf-8")
    m = check(Request([src], maps=["image=file", "latitude=lat"]))
    lat = dict(zip(m.converted["image-filename"], m.converted["image-latitude"], strict=True))
    assert lat["Day1/IMG_1.png"] == 1 and lat["Day1/img_2.png"] == 2 and lat["img_3.png"] == 3
    assert np.isnan(lat["img_4.png"])
    kinds = sorted((p.kind, p.row) for p in m.problems if p.field == "image")
    assert ("duplicate_id", 5) in kinds and ("row_without_image", 6) in kinds
    assert ("image_without_row", None) in kinds
