"""Synthetic plankton-like vignettes for benchmarks: a noisy light background with one or a few
dark, textured, soft-edged organisms, in varied sizes, mostly 8-bit grey with some RGB and 16-bit.

Deterministic by seed, so runs compare like with like.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def vignette(rng: np.random.Generator) -> np.ndarray:
    """One image as (Y, X) or (Y, X, 3), uint8, like a UVP/ZooScan/FlowCam crop."""
    h = int(rng.integers(48, 420))
    w = int(np.clip(h * rng.uniform(0.5, 2.0), 40, 600))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    bg = rng.uniform(200, 250)
    img = np.full((h, w), bg, np.float32) + rng.normal(0, rng.uniform(0.8, 3.0), (h, w)).astype(
        np.float32
    )
    for _ in range(int(rng.integers(1, 4))):
        cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
        ry, rx = rng.uniform(0.1, 0.35) * h, rng.uniform(0.1, 0.35) * w
        ang = rng.uniform(0, np.pi)
        dy, dx = yy - cy, xx - cx
        u = (dx * np.cos(ang) + dy * np.sin(ang)) / rx
        v = (-dx * np.sin(ang) + dy * np.cos(ang)) / ry
        r = np.sqrt(u * u + v * v)
        body = np.clip(1.2 - r, 0, 1) ** 0.7  # soft edge
        texture = rng.normal(0, 10, (h // 4 + 1, w // 4 + 1)).astype(np.float32)
        texture = np.kron(texture, np.ones((4, 4), np.float32))[:h, :w]
        darkness = rng.uniform(80, 180)
        img -= body * (darkness + texture)
        # antennae / spines: thin dark lines
        for _ in range(int(rng.integers(0, 3))):
            t = np.linspace(0, 1, 200)
            x0, y0 = cx, cy
            x1, y1 = rng.uniform(0, w - 1), rng.uniform(0, h - 1)
            px = np.clip((x0 + (x1 - x0) * t).astype(int), 0, w - 1)
            py = np.clip((y0 + (y1 - y0) * t).astype(int), 0, h - 1)
            img[py, px] -= darkness * 0.6
    grey = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    if rng.random() < 0.15:  # some colour cameras (FlowCam, PlanktoScope)
        tint = rng.uniform(0.85, 1.0, 3)
        rgb = np.stack(
            [np.clip(np.rint(grey * t + rng.normal(0, 1.0, grey.shape)), 0, 255) for t in tint], -1
        )
        return rgb.astype(np.uint8)
    return grey


def write_pngs(folder: Path, n: int, seed: int = 0, *, start: int = 0) -> list[Path]:
    """Write ``n`` PNG vignettes (img_00000.png, …) and a metadata table; return the image paths."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(start, start + n):
        arr = vignette(rng)
        p = folder / f"img_{i:06d}.png"
        Image.fromarray(arr).save(p, compress_level=6)
        paths.append(p)
    return paths


# The mapping (--map FIELD=COLUMN) for the table write_table writes.
MAPS = [
    "image=file",
    "date=date",
    "time=time",
    "latitude=lat",
    "longitude=lon",
    "depth=depth",
    "pixel_size=pixel_um",
    "label=label",
]


def write_table(folder: Path, paths: list[Path]) -> Path:
    """A CSV with file name, date, time, position, depth and pixel size for every image."""
    t = folder / "meta.csv"
    with t.open("w", encoding="utf-8") as fh:
        fh.write("file,date,time,lat,lon,depth,pixel_um,label\n")
        for i, p in enumerate(paths):
            fh.write(
                f"{p.name},2024-05-{1 + i % 28:02d},{i % 24:02d}:{i % 60:02d}:00,"
                # one position a day (a cruise a ship can sail: mapping/plausibility.py)
                f"{43.0 + (i % 28) / 1000:.4f},{7.3 + (i % 28) / 1000:.4f},{5 + i % 200},12.5,copepod\n"
            )
    return t
