"""What LMDB's page layout costs per stored image, by value size and page size (bytes on disk).

    python tests/bench/bench_lmdb.py

Writes 2,000 values of each size into a fresh LMDB the way the packer does (8-byte integer keys in
order, ``append=True``, one sub-database) and prints the file's bytes per value beyond the value
itself, with the machine's pages (4 KiB here) and with the packer's 512-byte pages
(``layout.create_lmdb``).  A value larger than about half a page lives on its own overflow pages,
whole pages only, so it wastes what is left of its last page: half a page on average.
"""

from __future__ import annotations

import os
import struct
import sys
import tempfile
from pathlib import Path

import lmdb

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from aqqua_packer.package import layout  # noqa: E402


def overhead(
    size: int, n: int = 2000, append: bool = True, page_size: int | None = None
) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as d:
        if page_size:
            layout.create_lmdb(Path(d), page_size)
        env = lmdb.open(d, map_size=2**32, max_dbs=2, lock=False, subdir=True)
        db = env.open_db(b"image_data", integerkey=True)
        value = os.urandom(size)
        with env.begin(write=True) as txn:
            order = range(n) if append else [(i * 7919) % n for i in range(n)]
            for i in order:
                txn.put(struct.pack("<Q", i), value, db=db, append=append)
        with env.begin() as txn:
            st = txn.stat(db)
        env.close()
        file_bytes = (Path(d) / "data.mdb").stat().st_size
        return (file_bytes - n * size) / n, st


def main() -> None:
    print(
        "| value bytes | bytes per value beyond it, 4 KiB pages (append) | (random order) "
        "| 512-byte pages (append) | (random order) |"
    )
    print("|---|---|---|---|---|")
    for size in (500, 1500, 2000, 2100, 3000, 4000, 4100, 6000, 8000, 12000, 17000, 25000, 40000):
        a, _ = overhead(size)
        r, _ = overhead(size, append=False)
        a5, _ = overhead(size, page_size=512)
        r5, _ = overhead(size, append=False, page_size=512)
        print(f"| {size:,} | {a:,.0f} | {r:,.0f} | {a5:,.0f} | {r5:,.0f} |")


if __name__ == "__main__":
    main()
