"""The image stores use 256-byte LMDB pages, so a stored image wastes ~180 bytes beyond its value
instead of ~2 KB with the machine's 4 KiB pages (issue 17, "less waste per small image"; docs/format.md,
"Image store pages")."""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

import lmdb
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pkgtools import CONSTANTS  # noqa: E402

from aqqua_packer.package import layout  # noqa: E402
from aqqua_packer.package.write import PackOptions  # noqa: E402
from aqqua_packer.workflow import Request, pack  # noqa: E402


def _open_as_the_reader_does(folder: Path) -> lmdb.Environment:
    # pixel_patrol_aqqua/plugins/loaders/lmdb_loader.py: read-only, max_dbs=2, lock=False
    return lmdb.open(str(folder), readonly=True, lock=False, max_dbs=2, subdir=True)


def test_an_empty_store_of_small_pages_is_read_and_written_by_lmdb_with_those_pages(tmp_path):
    layout.create_lmdb(tmp_path / "s")
    env = lmdb.open(str(tmp_path / "s"), map_size=2**30, max_dbs=2, lock=False, subdir=True)
    db = env.open_db(layout.IMAGE_DB, integerkey=True)
    values = [os.urandom(18_000 + 97 * i) for i in range(300)]
    with env.begin(write=True) as txn:
        for i, v in enumerate(values):
            txn.put(struct.pack("<Q", i), v, db=db, append=True)
    env.close()
    reader = _open_as_the_reader_does(tmp_path / "s")
    assert reader.stat()["psize"] == layout.LMDB_PAGE_SIZE == 256
    db = reader.open_db(layout.IMAGE_DB, integerkey=True)
    with reader.begin() as txn:
        assert [bytes(v) for _, v in txn.cursor(db=db)] == values
    waste = (tmp_path / "s" / "data.mdb").stat().st_size - sum(map(len, values))
    assert waste / len(values) < 250  # 4 KiB pages: ~2,070 bytes an image; 512-byte: ~300


def test_create_lmdb_keeps_a_store_being_continued(tmp_path):
    layout.create_lmdb(tmp_path / "s")
    env = lmdb.open(str(tmp_path / "s"), map_size=2**30, max_dbs=2, lock=False, subdir=True)
    with env.begin(write=True) as txn:
        txn.put(b"k", b"v")
    env.close()
    before = (tmp_path / "s" / "data.mdb").read_bytes()
    layout.create_lmdb(tmp_path / "s")
    assert (tmp_path / "s" / "data.mdb").read_bytes() == before


def test_a_written_package_stores_its_images_on_256_byte_pages(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    rng = np.random.default_rng(3)
    for i in range(12):
        Image.fromarray(rng.integers(0, 255, (90 + i, 110), dtype=np.uint8)).save(src / f"{i}.png")
    result = pack(
        Request(sources=[src], sets=[*CONSTANTS, "pixel_size=10"]),
        tmp_path / "pkg",
        options=PackOptions(workers=1),
    )
    (store,) = list((tmp_path / "pkg").glob("*.lmdb"))
    env = _open_as_the_reader_does(store)
    assert env.stat()["psize"] == 256
    db = env.open_db(layout.IMAGE_DB, integerkey=True)
    with env.begin() as txn:
        frames = [bytes(v) for _, v in txn.cursor(db=db)]
    assert len(frames) == result.images == 12
    data = (store / "data.mdb").stat().st_size
    assert data - sum(map(len, frames)) < 12 * 400 + 16 * 1024
