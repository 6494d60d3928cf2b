"""Any folder of images: images in zips (and zips in zips) are found without extracting, unsafe zip
paths are refused, copies are packed once."""

from __future__ import annotations

import io
import zipfile

import numpy as np
from PIL import Image

from aqqua_packer.progress import ProgressEvent, Task, null_task
from aqqua_packer.sources import generic, image_folder
from aqqua_packer.sources.pixels import load_image


def _png(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (6, 7), dtype=np.uint8)).save(
        buf, format="PNG"
    )
    return buf.getvalue()


def test_images_in_nested_zips_are_found_and_decode(tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("deep/c.png", _png(3))
    with zipfile.ZipFile(tmp_path / "all.zip", "w") as zf:
        zf.writestr("a.png", _png(1))
        zf.writestr("sub/b.png", _png(2))
        zf.writestr("inner.zip", inner.getvalue())
    (scan,) = generic.scan(tmp_path, null_task())
    assert sorted(im.name for im in scan.images) == [
        "all.zip/a.png",
        "all.zip/inner.zip/deep/c.png",
        "all.zip/sub/b.png",
    ]
    deep = next(im for im in scan.images if im.name.endswith("c.png"))
    assert deep.members == ("inner.zip", "deep/c.png")
    assert load_image(deep).array.shape == (6, 7)


def test_a_zip_member_with_dotdot_is_skipped_and_named(tmp_path):
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as zf:
        zf.writestr("../../outside.png", _png(1))
        zf.writestr("ok.png", _png(2))
    (scan,) = generic.scan(tmp_path / "evil.zip", null_task())
    assert [im.name for im in scan.images] == ["evil.zip/ok.png"]
    (p,) = scan.problems
    assert (
        p.kind == "unsafe_path" and p.value == "../../outside.png" and p.file.endswith("evil.zip")
    )
    assert not (tmp_path.parent / "outside.png").exists()


def test_a_zip_copy_of_a_folder_is_set_aside(tmp_path):
    (tmp_path / "objects").mkdir()
    for i in range(3):
        (tmp_path / "objects" / f"o{i}.png").write_bytes(_png(i))
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as zf:
        for i in range(3):
            zf.writestr(f"o{i}.png", _png(i))
    (scan,) = generic.scan(tmp_path, null_task())
    assert sorted(im.name for im in scan.images) == [
        "objects/o0.png",
        "objects/o1.png",
        "objects/o2.png",
    ]
    assert len(scan.set_aside) == 3 and all("same bytes" in a.reason for a in scan.set_aside)


def test_the_walk_reports_progress_in_files(tmp_path):
    for i in range(1100):
        (tmp_path / f"{i}.txt").write_text("")
    events: list[ProgressEvent] = []
    image_folder.collect(tmp_path, Task(on_event=events.append, min_interval=0))
    assert events[-1].done == 1100 and events[-1].unit == "files"


def test_a_readme_beside_the_table_is_not_a_second_table_and_a_broken_table_is_named(tmp_path):
    (tmp_path / "a.png").write_bytes(_png(1))
    (tmp_path / "README.txt").write_text("Cruise notes\nsome, free, text, here\n")
    (tmp_path / "meta.csv").write_text("file,lat\na.png,10\n")
    (scan,) = generic.scan(tmp_path, null_task())
    assert scan.tables == ["meta.csv"] and scan.suggested["fields"]["image"]["column"] == "file"
    (tmp_path / "meta.csv").write_text("file,lat\na.png,10,11,12\n")
    (scan,) = generic.scan(tmp_path, null_task())
    assert len(scan.images) == 1 and scan.rows.empty
    (p,) = scan.problems
    assert p.kind == "bad_table" and p.file == "meta.csv" and "row 2" in p.message


def test_the_image_column_is_the_one_naming_most_images_by_path_name_or_stem():
    """Compared in Arrow: case, surrounding blanks and Windows separators do not matter; a value
    may give the path, the file name or the stem."""
    import pandas as pd

    from aqqua_packer.sources.base import ImageList, ImageRef
    from aqqua_packer.sources.image_folder import suggest_image_column

    images = ImageList(
        ImageRef(f"Day1/IMG_{i}.png", f"/data/Day1/IMG_{i}.png", size=1) for i in range(6)
    )
    rows = pd.DataFrame(
        {
            "label": ["img_0", "copepod", "x", "y", "z", "w"],
            "path": [" day1\\img_0.PNG", "Day1/IMG_1.png", "img_2.png", "IMG_3", "nope", None],
            "n": [1, 2, 3, 4, 5, 6],  # not text: compared as text, names nothing
            "__table__": ["meta.csv"] * 6,
        }
    )
    assert suggest_image_column(rows, images) == ("path", 4)
    assert suggest_image_column(rows, list(images)) == ("path", 4)
    assert suggest_image_column(rows.iloc[:0], images) == (None, 0)
