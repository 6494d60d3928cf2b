"""Regenerate resources/sample-data: 40 synthetic, plankton-like grey images and their table.

The sample is made, not collected, so it can ship under the project's licence.  Two rows carry
deliberate gaps (a missing latitude, a date in the future) and one image has no row, so the
wizard's gap preview has something to show.  Run: python resources/make_sample_data.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent / "sample-data"
TAXA = ["Copepoda", "Chaetognatha", "Appendicularia", "Diatom chain", "Radiolaria", "detritus"]


def organism(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.full((h, w), 235.0)
    for _ in range(rng.integers(1, 4)):
        cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
        ry, rx = rng.uniform(0.1, 0.35) * h, rng.uniform(0.1, 0.35) * w
        ang = rng.uniform(0, np.pi)
        y, x = yy - cy, xx - cx
        u = (x * np.cos(ang) + y * np.sin(ang)) / rx
        v = (-x * np.sin(ang) + y * np.cos(ang)) / ry
        body = np.exp(-((u**2 + v**2) ** 2))
        img -= body * rng.uniform(90, 180)
    img += rng.normal(0, 4, size=img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def main() -> None:
    rng = np.random.default_rng(20261123)
    (HERE / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(40):
        h, w = int(rng.integers(40, 160)), int(rng.integers(40, 160))
        name = f"plankton_{i:03d}.png"
        Image.fromarray(organism(rng, h, w)).save(HERE / "images" / name, optimize=True)
        station = 1 + i // 10
        rows.append(
            {
                "image_file": name,
                "date_time_utc": f"2025-06-{10 + station:02d}T{8 + i % 10:02d}:{(i * 7) % 60:02d}:00Z",
                "latitude": f"{54.1 + station * 0.05:.4f}",
                "longitude": f"{7.9 + station * 0.04:.4f}",
                "depth_m": f"{5 + (i % 10) * 2}",
                "pixel_size_um": "10.6",
                "volume_l": "0.0021",
                "taxon": TAXA[i % len(TAXA)],
                "sample_id": f"HE-2025-{station:02d}",
                "station": f"S{station}",
            }
        )
    rows[7]["latitude"] = ""  # a gap the preview shows
    rows[23]["date_time_utc"] = "2095-06-12T09:00:00Z"  # an impossible date
    del rows[39]  # an image without a row
    with open(HERE / "metadata.csv", "w", newline="", encoding="utf-8") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)


if __name__ == "__main__":
    main()
