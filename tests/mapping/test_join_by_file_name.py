"""Rows that name an image by its file name or stem, not its path: the Arrow join (used for plain
ASCII names, fast on a million rows) finds the same row as the Python one it stands in for."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aqqua_packer.mapping.join import by_file_name, by_file_name_arrow
from aqqua_packer.sources.base import ImageList, ImageRef
from aqqua_packer.sources.tables import name_keys

NAMES = [
    "d1/img_1.png",
    "d2/img_1.png",  # same file name in two folders: the first row naming it wins for both
    "d1/IMG_2.TIF",
    "d1/a..png",
    "d1/.hidden.png",
    "d1/..b.png",
    "d1/c.",
    "d1/noext",
    "x/y/z.tar.png",
    "d1/unnamed.png",
    "d1/v.1.jpg",
    "root.png",  # no folder: its path is its file name
    "solo.jpg",
]
VALUES = [
    "img_1",
    " IMG_1.PNG ",
    "img_2.tif",
    "a.",
    ".hidden",
    "..b",
    "c",
    "",
    "other\\NOEXT",
    "z.tar",
    "v.1",
    "img_1",
    ".hidden.png",
    "x/ROOT.png",
    "solo",
]


def _images(names: list[str]) -> ImageList:
    return ImageList([ImageRef(name=n, path=f"/data/{n}") for n in names])


def test_the_arrow_join_by_file_name_or_stem_finds_the_rows_python_finds():
    images = _images(NAMES)
    missing = np.arange(len(NAMES))
    keys = name_keys(pd.Series(VALUES))
    fast = by_file_name_arrow(keys, images, missing)
    slow = by_file_name(VALUES, images, missing)
    assert fast is not None
    assert fast.tolist() == slow.tolist()
    # and what that is: the first row naming each image by path, file name or stem
    assert slow.tolist() == [1, 1, 2, 3, 12, 5, 6, 8, 9, -1, 10, 13, 14]


def test_names_beyond_plain_ascii_are_left_to_python():
    images = _images(["d/Été.png", "d/b.png"])
    keys = name_keys(pd.Series(["été", "B"]))
    assert by_file_name_arrow(keys, images, np.arange(2)) is None
    assert by_file_name(["été", "B"], images, np.arange(2)).tolist() == [0, 1]
