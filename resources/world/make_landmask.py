"""Build landmask-2arcmin.npz, the land mask behind the "position on land" plausibility check.

Source: the GLOBE 30-arc-second land mask (NOAA NGDC's Global Land One-km Base Elevation, ocean
where GLOBE has no elevation), as shipped by the PyPI package ``global-land-mask`` 1.0.0 (MIT).
Usage (``pip install ".[landmask]"`` first; it is needed only here, not by the packer)::

    python make_landmask.py

A cell of the result (2 arc-minutes, about 3.7 km north-south) is land only when all 4 x 4 GLOBE
cells in it are land, so the mask errs towards the sea: a coastal point is never called land.
Most lakes are land in GLOBE; the check lets datasets that say "freshwater" through.  The mask is
streamed from the package's .npz in row blocks, so building it needs ~20 MB, not the 933 MB the
full mask takes in memory.  Stored as packed bits (row 0 = the northernmost, column 0 = 180° W).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

FACTOR = 4  # 30" cells per 2' cell, each way


def main() -> None:
    import global_land_mask

    src = Path(os.path.dirname(global_land_mask.__file__)) / "globe_combined_mask_compressed.npz"
    with zipfile.ZipFile(src) as z, z.open("mask.npy") as f:
        version = np.lib.format.read_magic(f)
        shape, fortran, dtype = (
            np.lib.format.read_array_header_1_0(f)
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0(f)
        )
        assert not fortran and dtype == np.bool_ and shape == (21600, 43200), (shape, dtype)
        rows, cols = shape
        out = np.zeros((rows // FACTOR, cols // FACTOR), dtype=bool)
        for r in range(rows // FACTOR):
            block = np.frombuffer(f.read(FACTOR * cols), dtype=np.bool_).reshape(FACTOR, cols)
            ocean = block.reshape(FACTOR, cols // FACTOR, FACTOR).any(axis=(0, 2))
            out[r] = ~ocean
    packed = np.packbits(out, axis=1)
    dst = Path(__file__).with_name("landmask-2arcmin.npz")
    np.savez_compressed(dst, land=packed, cells_per_degree=np.int32(60 // 2))
    print(f"{dst}: {dst.stat().st_size:,} bytes, {out.mean():.1%} land")


if __name__ == "__main__":
    main()
