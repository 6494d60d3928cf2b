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
import pytest
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


def _rss_file_kb() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("RssFile:"))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="no /proc here")
def test_closing_a_shard_does_not_map_its_whole_file_to_drop_the_resume_index(tmp_path, monkeypatch):
    """With 256-byte pages the resume index's leaves lie all over data.mdb, between the images of
    the same transactions; dropping it at once mapped the page cache around every leaf (77 MB for
    a 10,000-image shard, ~770 MB for a full 2 GiB one). It is emptied a part at a time."""
    from aqqua_packer.package import shard as shardmod

    (tmp_path / layout.STATE_DIR).mkdir()
    sh = shardmod.OpenShard(tmp_path / "s.lmdb", 0, 1, 0, map_size=2**31)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, 20_000, dtype=np.uint8).tobytes()
    for p in range(6000):
        sh.add(p, frame, f"00000000-0000-4000-8000-{p:012d}", f"{p:064x}", ["grey"])
        if p % 500 == 499:
            sh.commit()
    sh.commit()
    layout.release_mapped(tmp_path / "s.lmdb" / "data.mdb")
    before = _rss_file_kb()
    seen = []
    real = layout.release_mapped

    def measured(path):
        seen.append(_rss_file_kb() - before)  # what the drop mapped since the last release
        real(path)

    monkeypatch.setattr(shardmod.layout, "release_mapped", measured)
    sh.drop_aux()
    sh.close()
    assert seen and max(seen) < 40 * 1024, f"{max(seen) / 1024:.0f} MB of data.mdb mapped at once"
    env = _open_as_the_reader_does(tmp_path / "s.lmdb")
    db = env.open_db(layout.IMAGE_DB, integerkey=True)
    with env.begin() as txn:
        assert txn.get(shardmod.INDEX_DB) is None  # the resume index is gone
        assert txn.stat(db)["entries"] == 6000
