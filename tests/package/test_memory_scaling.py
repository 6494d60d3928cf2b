"""What scanning and mapping hold per image, counted exactly (tracemalloc), not timed.

A ship's laptop packs hundreds of thousands of images; what `check` and `pack` keep in memory for
each one decides whether that works.  The whole-process numbers (10,000 vs 100,000 real images)
are in tests/bench/bench_pack.py; this test pins the part that grows with the image count: the
Python objects scan + mapping allocate per image, at their peak.  Before the tables were read by
Arrow and the folder walk kept names instead of DirEntries it was ~1,960 bytes per image."""

from __future__ import annotations

import gc
import io
import tracemalloc
from pathlib import Path

import numpy as np
from PIL import Image
from pkgtools import MAPS, write_table

from aqqua_packer.workflow import Request, check


def _folder(root: Path, n: int) -> Path:
    """``n`` tiny PNGs (pixels do not matter here: nothing decodes them) and an 8-column table."""
    buf = io.BytesIO()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(buf, "PNG")
    png = buf.getvalue()
    root.mkdir()
    paths = [root / f"img_{i:06d}.png" for i in range(n)]
    for p in paths:
        p.write_bytes(png)
    write_table(root, paths)
    return root


def _peak(folder: Path) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        mapped = check(Request([folder], maps=MAPS))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert mapped.n_ready == len(mapped.items)
    return peak


def test_scan_and_mapping_hold_little_per_image(tmp_path):
    small, big = _folder(tmp_path / "small", 1_000), _folder(tmp_path / "big", 10_000)
    _peak(small)  # imports and caches, once
    per_image = (_peak(big) - _peak(small)) / 9_000
    print(f"scan + mapping: {per_image:.0f} bytes of Python objects per image at the peak")
    assert per_image < 1_300, f"{per_image:.0f} bytes per image"
