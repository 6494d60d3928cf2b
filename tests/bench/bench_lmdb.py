"""What LMDB's page layout costs per stored image, by value size (bytes on disk, not time).

    python tests/bench/bench_lmdb.py

Writes 2,000 values of each size into a fresh LMDB the way the packer does (8-byte integer keys in
order, ``append=True``, one sub-database) and prints the file's bytes per value beyond the value
itself.  A value larger than about half a page (2,040 bytes with 4 KiB pages) lives on its own
overflow pages, whole pages only, so it wastes what is left of its last page: ~2 kB on average.
"""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path

import lmdb


def overhead(size: int, n: int = 2000, append: bool = True) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as d:
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
    print("| value bytes | file bytes per value beyond it (append) | (random order) | overflow pages per value |")
    print("|---|---|---|---|")
    for size in (500, 1500, 2000, 2100, 3000, 4000, 4100, 6000, 8000, 12000, 17000, 25000, 40000):
        a, st = overhead(size)
        r, _ = overhead(size, append=False)
        print(f"| {size:,} | {a:,.0f} | {r:,.0f} | {st['overflow_pages'] / st['entries']:.2f} |")


if __name__ == "__main__":
    main()
