"""Whether a position is on land, further than a few km from any coast.

The mask is ``resources/world/landmask-2arcmin.npz`` (made by ``resources/world/make_landmask.py``
from the GLOBE 30" land mask as the ``global-land-mask`` package ships it): packed bits, 2' cells,
a cell land only when all of it is.  Loaded on first use (7 MB) and kept.
"""

from __future__ import annotations

import functools

import numpy as np

from ..resources import resources_dir

LAND_PROBE_KM = 5.0


@functools.lru_cache(maxsize=1)
def _land_mask() -> tuple[np.ndarray, int]:
    """Packed bits, row 0 at 90° N, column 0 at 180° W; a cell is land only when all of it is
    (resources/world/make_landmask.py: GLOBE 30" via the global-land-mask package)."""
    with np.load(resources_dir() / "world" / "landmask-2arcmin.npz") as z:
        return z["land"], int(z["cells_per_degree"])


def is_land(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Whether each point lies in a 2' cell that is land throughout (lakes count as land)."""
    packed, per_deg = _land_mask()
    rows = np.clip(np.floor((90.0 - lat) * per_deg).astype(np.int64), 0, packed.shape[0] - 1)
    cols = np.floor((np.asarray(lon) + 180.0) * per_deg).astype(np.int64) % (packed.shape[1] * 8)
    return ((packed[rows, cols >> 3] >> (7 - (cols & 7))) & 1).astype(bool)


def inland(lat: np.ndarray, lon: np.ndarray, km: float = LAND_PROBE_KM) -> np.ndarray:
    """Land at the point and at eight points ``km`` around it: further than that from any coast."""
    out = is_land(lat, lon)
    dlat = km / 111.32
    coslat = np.maximum(np.cos(np.radians(lat)), 0.01)
    for a in range(0, 360, 45):
        if not out.any():
            break
        plat = np.clip(lat + dlat * np.cos(np.radians(a)), -90.0, 90.0)
        plon = (lon + dlat * np.sin(np.radians(a)) / coslat + 180.0) % 360.0 - 180.0
        out &= is_land(plat, plon)
    return out
