"""What scanning and mapping hold per image, counted exactly (tracemalloc), not timed.

A ship's laptop packs hundreds of thousands of images; what `check` and `pack` keep in memory for
each one decides whether that works.  The whole-process numbers (10,000 vs 100,000 real images)
are in tests/bench/bench_pack.py; this test pins the part that grows with the image count: the
Python objects scan + mapping allocate per image, at their peak.  Before the tables were read by
Arrow and the folder walk kept names instead of DirEntries it was ~1,960 bytes per image; before
images and items were stored by column, ~830."""

from __future__ import annotations

import gc
import io
import tracemalloc
from pathlib import Path

import numpy as np
import pyarrow as pa
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


def _measure(folder: Path) -> tuple[int, int]:
    """(peak of Python objects during scan + mapping, Python + Arrow bytes held by the result)."""
    gc.collect()
    arrow_before = pa.total_allocated_bytes()
    tracemalloc.start()
    try:
        mapped = check(Request([folder], maps=MAPS))
        gc.collect()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert mapped.n_ready == len(mapped.items)
    return peak, held + pa.total_allocated_bytes() - arrow_before


def test_scan_and_mapping_hold_little_per_image(tmp_path):
    small, big = _folder(tmp_path / "small", 1_000), _folder(tmp_path / "big", 10_000)
    _measure(small)  # imports and caches, once
    (peak_s, held_s), (peak_b, held_b) = _measure(small), _measure(big)
    peak, held = (peak_b - peak_s) / 9_000, (held_b - held_s) / 9_000
    print(f"scan + mapping: {peak:.0f} bytes of Python objects per image at the peak, ")
    print(f"{held:.0f} bytes per image held by the result (Python objects and Arrow)")
    # with ImageRef and Item objects (before images and items were stored by column): 830 and 688;
    # 478 at the peak before the ship-speed rule counted samples on arrays instead of a data frame
    # and the plausibility rules read the converted numbers without a copy, the fields' values
    # let go once the converted frame holds them (376 after)
    assert peak < 420, f"{peak:.0f} bytes per image at the peak"
    assert held < 450, f"{held:.0f} bytes per image held"


def test_looking_for_copies_makes_no_python_string_per_image():
    """Copy detection on a folder of distinct images (the usual case) compares stems in Arrow and
    reads the table's image names only when two images share a stem: a string per image (stem,
    table name, lower-cased name) held 125 bytes an image at that step before."""
    from aqqua_packer.sources.base import ImageList
    from aqqua_packer.sources.copies import set_aside_copies

    n = 50_000
    images = ImageList()
    for i in range(n):
        images.add(f"img_{i:06d}.png", f"/data/img_{i:06d}.png", size=100)
    named = pa.array([f"img_{i:06d}.png" for i in range(n)], pa.large_string())
    images.names_arrow()  # the scan has made it already (suggest_image_column)
    gc.collect()
    tracemalloc.start()
    try:
        kept, aside = set_aside_copies(images, named=named)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(kept) == n and not aside
    print(f"copy detection: {peak / n:.0f} bytes of Python objects per image at the peak")
    assert peak / n < 40, f"{peak / n:.0f} bytes per image at the peak"
