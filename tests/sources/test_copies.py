"""The same picture kept in several formats or places is packed once, the raw one, and the rest is
set aside with a reason."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from aqqua_packer.sources.base import ImageRef
from aqqua_packer.sources.copies import set_aside_copies, stem_of


def _img(path: Path, seed: int, size=(40, 30), fmt: str | None = None) -> ImageRef:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 255, (size[1], size[0]), dtype=np.uint8)
    Image.fromarray(arr).save(path, format=fmt)
    return ImageRef(name=path.name, path=str(path), size=path.stat().st_size)


def _ref(root: Path, path: Path, row: int | None = None) -> ImageRef:
    return ImageRef(
        name=path.relative_to(root).as_posix(), path=str(path), size=path.stat().st_size, row=row
    )


def test_stem_ignores_suffixes_case_and_preview_words():
    assert stem_of("a/B_preview.JPG") == "b"
    assert stem_of("x.ome.tiff") == "x"
    assert stem_of("sub/img_001.png") == "img_001"


def test_jpeg_preview_beside_a_tiff_is_set_aside_and_the_tiff_kept(tmp_path):
    _img(tmp_path / "cell.tif", 1)
    _img(tmp_path / "cell.jpg", 1, fmt="JPEG")
    refs = [_ref(tmp_path, tmp_path / "cell.jpg", row=4), _ref(tmp_path, tmp_path / "cell.tif")]
    kept, aside = set_aside_copies(refs)
    assert [k.name for k in kept] == ["cell.tif"]
    assert kept[0].row == 4, "the kept raw image takes over the preview's row"
    assert len(aside) == 1 and aside[0].kept == "cell.tif"
    assert "preview" in aside[0].reason and aside[0].path.endswith("cell.jpg")


def test_identical_copy_inside_a_zip_is_set_aside_and_the_plain_file_kept(tmp_path):
    _img(tmp_path / "objects" / "a.png", 2)
    _img(tmp_path / "objects" / "b.png", 3)
    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(tmp_path / "objects" / "a.png", "a.png")
    info = zipfile.ZipFile(z).getinfo("a.png")
    refs = [
        ImageRef(name="export.zip/a.png", path=str(z), members=("a.png",), size=info.file_size),
        _ref(tmp_path, tmp_path / "objects" / "a.png"),
        _ref(tmp_path, tmp_path / "objects" / "b.png"),
    ]
    kept, aside = set_aside_copies(refs)
    assert [k.name for k in kept] == ["objects/a.png", "objects/b.png"]
    assert (
        aside[0].kept == "objects/a.png"
        and "same bytes" in aside[0].reason
        and "zip" in aside[0].reason
    )


def test_same_names_in_different_folders_with_different_pixels_are_all_kept(tmp_path):
    _img(tmp_path / "day1" / "img001.png", 4)
    _img(tmp_path / "day2" / "img001.png", 5)
    refs = [
        _ref(tmp_path, tmp_path / "day1" / "img001.png"),
        _ref(tmp_path, tmp_path / "day2" / "img001.png"),
    ]
    kept, aside = set_aside_copies(refs)
    assert len(kept) == 2 and aside == []


def test_smaller_jpeg_in_a_previews_folder_is_a_preview(tmp_path):
    _img(tmp_path / "raw" / "p1.tif", 6, size=(400, 300))
    (tmp_path / "previews").mkdir()
    with Image.open(tmp_path / "raw" / "p1.tif") as im:  # a real scaled-down copy of the TIFF
        im.resize((200, 150)).save(tmp_path / "previews" / "p1.jpg", format="JPEG")
    _img(tmp_path / "other" / "p1.jpg", 7, size=(50, 80), fmt="JPEG")
    refs = [_ref(tmp_path, tmp_path / p) for p in ("raw/p1.tif", "previews/p1.jpg", "other/p1.jpg")]
    kept, aside = set_aside_copies(refs)
    assert [k.name for k in kept] == ["raw/p1.tif", "other/p1.jpg"]
    assert [a.kept for a in aside] == ["raw/p1.tif"]


def test_copy_candidates_of_an_image_list_are_those_of_the_same_images_one_by_one():
    """The folder walk's ImageList finds same-stem candidates in Arrow (no Python string per
    image); a plain list finds them with ``stem_of``: the groups must be the same."""
    from aqqua_packer.sources.base import ImageList
    from aqqua_packer.sources.copies import _same_stem

    names = [
        "a/B_preview.JPG",
        "b.tif",
        "x.ome.tiff",
        "deep/X.png",
        "sub\\img_001.png",
        "img_001-thumb.jpeg",
        "img_001.png.png",
        "c.small.gif",
        "C.BMP",
        "plain",
        "plain.txt",
        "d/e/f/plain",
        "web_web.web",
        "q_web.jpg",
        "Q.TIFF",
    ]
    refs = [ImageRef(name=n, path=f"/data/{i}/{n}") for i, n in enumerate(names)]
    refs.append(ImageRef(name="b.png", path="/data/collage.tif", box=(0, 0, 4, 4)))
    refs.append(ImageRef(name="q.jpg", path="/data/z.zip", members=("q.jpg",)))
    expected = _same_stem(list(refs))
    assert expected == [[0, 1], [2, 3], [4, 5], [7, 8], [9, 11], [13, 14, 16]]
    assert _same_stem(ImageList(refs)) == expected
    accented = [*refs, ImageRef(name="É.png", path="/data/É.png")]  # Python's lower() decides
    assert _same_stem(ImageList(accented)) == _same_stem(accented)
