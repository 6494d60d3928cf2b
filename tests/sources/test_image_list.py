"""A scan's images are stored by column (``ImageList``) and read back exactly as they were given."""

from __future__ import annotations

import os
import pickle
import tracemalloc

import pyarrow as pa
import pytest

from aqqua_packer.sources.base import ImageList, ImageRef, Scan

ROOT = os.path.abspath("/data/cruise")

REFS = [
    # a file named by its path below the folder: stored as (folder, name's last part)
    ImageRef("a/img_001.png", os.path.join(ROOT, "a", "img_001.png"), size=1234),
    ImageRef("img_002.tif", os.path.join(ROOT, "img_002.tif"), page=3, row=7, size=99),
    # a name that is not the file's name (IFCB): path kept whole, raw offsets kept
    ImageRef("D2013_IFCB013_00002", os.path.join(ROOT, "D2013_IFCB013.roi"), raw=(10, 4, 5), row=1),
    ImageRef("D2013_IFCB013_00003", os.path.join(ROOT, "D2013_IFCB013.roi"), raw=(30, 2, 2), row=2),
    # zip members, nested
    ImageRef(
        "x.zip/in/deep.zip/c.jpg", os.path.join(ROOT, "x.zip"), members=("in/deep.zip", "c.jpg")
    ),
    # a collage cut
    ImageRef("collage_1.tif#3", os.path.join(ROOT, "collage_1.tif"), box=(1, 2, 30, 40), row=0),
    # a path that os.path.split/join would not give back as written
    ImageRef("b.png", ROOT + "//b.png"),
    # not UTF-8 on disk (surrogate escapes), and non-ASCII
    ImageRef("caf\udce9.png", os.path.join(ROOT, "caf\udce9.png")),
    ImageRef("Ölprobe/β.png", os.path.join(ROOT, "Ölprobe", "β.png"), size=5),
    ImageRef("plain.png", "relative/plain.png"),
]


def test_every_attribute_comes_back_as_given():
    images = ImageList(REFS)
    assert len(images) == len(REFS)
    assert list(images) == REFS
    assert images == REFS and REFS == list(images)
    assert [images[i] for i in range(-len(REFS), 0)] == REFS
    assert images[2:5] == REFS[2:5]
    assert images.names() == [r.name for r in REFS]
    assert [images.path(i) for i in range(len(REFS))] == [r.path for r in REFS]
    assert images.sizes().tolist() == [r.size for r in REFS]
    assert images.rows().tolist() == [-1 if r.row is None else r.row for r in REFS]
    with pytest.raises(IndexError):
        images[len(REFS)]


def test_append_and_add_agree_and_pickle_round_trips():
    a = ImageList()
    for r in REFS:
        a.append(r)
    b = ImageList()
    for r in REFS:
        b.add(
            r.name,
            r.path,
            **{k: getattr(r, k) for k in ("members", "page", "box", "raw")},
            row=r.row,
            size=r.size,
        )
    assert a == b == REFS
    assert pickle.loads(pickle.dumps(a)) == REFS


def test_without_rows_leaves_the_original_alone():
    images = ImageList(REFS)
    bare = images.without_rows()
    assert all(r.row is None for r in bare)
    assert [r.name for r in bare] == [r.name for r in REFS]
    assert images == REFS


def test_names_as_arrow_text():
    ok = ImageList([r for r in REFS if "\udce9" not in r.name])
    arr = ok.names_arrow()
    assert pa.types.is_large_string(arr.type) and arr.to_pylist() == ok.names()
    # an undecodable file name still gives a name (with a replacement character), not an error
    odd = ImageList(REFS).names_arrow().to_pylist()
    assert odd[7] == "caf\ufffd.png" and len(odd) == len(REFS)


def test_a_scan_turns_a_list_into_an_image_list():
    s = Scan(kind="generic", root=ROOT, images=list(REFS))
    assert isinstance(s.images, ImageList) and s.images == REFS
    s.images = REFS[:2]
    assert isinstance(s.images, ImageList) and len(s.images) == 2


def test_holds_few_bytes_per_image():
    """100,000 images of a folder: ~50 bytes each (a list of ImageRefs held ~300)."""
    n = 100_000
    folder = os.path.join(ROOT, "images")
    tracemalloc.start()
    try:
        images = ImageList()
        for i in range(n):
            images.add(f"images/img_{i:06d}.png", os.path.join(folder, f"img_{i:06d}.png"), size=i)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    per_image = held / n
    print(f"ImageList: {per_image:.0f} bytes per image")
    assert per_image < 80, per_image
    assert images[n - 1] == ImageRef(
        f"images/img_{n - 1:06d}.png", os.path.join(folder, f"img_{n - 1:06d}.png"), size=n - 1
    )
