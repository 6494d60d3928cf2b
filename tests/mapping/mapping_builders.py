"""Folders of real PNG images with a metadata table, as contributors have them."""

from __future__ import annotations

import csv
from pathlib import Path

from PIL import Image


def image_folder(
    root: Path,
    header: list[str],
    rows: list[list[str]],
    *,
    table: str = "meta.csv",
    delimiter: str = ",",
    encoding: str = "utf-8",
    image_col: int = 0,
) -> Path:
    """One PNG per row (named by column ``image_col``) and the table beside them."""
    root.mkdir(parents=True, exist_ok=True)
    for i, r in enumerate(rows):
        name = r[image_col]
        if name:
            Image.new("L", (6, 5), (i * 37) % 256).save(root / name)
    with (root / table).open("w", newline="", encoding=encoding) as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return root


PLANKTOSCOPE_HEADER = [
    "img_file_name",
    "object_id",
    "object_lat",
    "object_lon",
    "object_date",
    "object_time",
    "object_depth_min",
    "object_depth_max",
    "acq_id",
    "sample_id",
    "process_pixel",
]


def planktoscope_folder(root: Path, lat: str = "0", lon: str = "0", n: int = 3) -> Path:
    """A PlanktoScope-style export: EcoTaxa columns, and 0,0 where the GPS was never set."""
    rows = [
        [
            f"01_{i:02d}.png",
            f"obj_{i}",
            lat,
            lon,
            "20230512",
            f"1015{i:02d}",
            "0",
            "1",
            "acq1",
            "s1",
            "0.75",
        ]
        for i in range(n)
    ]
    return image_folder(root, PLANKTOSCOPE_HEADER, rows)
