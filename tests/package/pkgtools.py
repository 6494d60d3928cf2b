"""Helpers for the package tests: small real datasets on disk, the pack command as users run it,
and an independent way to read what a package holds."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "bench"))

from plankton_images import MAPS, write_pngs, write_table  # noqa: E402

CONSTANTS = [
    "datetime=2024-05-01T10:00:00Z",
    "latitude=43.68",
    "longitude=7.32",
    "depth=5",
    "pixel_size=10",
]


def plankton_dataset(folder: Path, n: int, seed: int = 0) -> Path:
    """``n`` plankton-like PNGs and their CSV table in ``folder``."""
    write_table(folder, write_pngs(folder, n, seed=seed))
    return folder


def map_args(maps=MAPS) -> list[str]:
    return [a for m in maps for a in ("--map", m)]


def set_args(sets=CONSTANTS) -> list[str]:
    return [a for m in sets for a in ("--set", m)]


def cli(*args: str, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """Run ``python -m aqqua_packer ARGS`` as a user would (a fresh process)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "aqqua_packer", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
        **kw,
    )


def pack_cmd(src: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "aqqua_packer",
        "pack",
        str(src),
        "--out",
        str(out),
        "-q",
        *map_args(),
        *extra,
    ]


def sha(arr: np.ndarray) -> str:
    return (
        hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()
        + f"{arr.dtype.str}{arr.shape}"
    )


def content(path: Path) -> dict:
    """Everything that must be equal between two packings of the same input, independent of
    package number and timing: per shard, in key order, uuid + pixels + converted + raw rows."""
    import pyarrow.parquet as pq

    from aqqua_packer import open_package

    pkg = open_package(path)
    shards = []
    for s in pkg.shards:
        images = [(f[1]["image-uuid"], sha(f[0])) for f in _decoded(s)]
        meta = pq.read_table(s.meta_path).to_pylist()
        raw = pq.read_table(s.raw_path).to_pylist()
        shards.append({"images": images, "meta": meta, "raw": raw})
    return {"shards": shards, "files": sorted(_shape_of_names(path))}


def _decoded(shard):
    from aqqua_packer.package import frames

    for _k, v in shard.frames():
        yield frames.decode(v)


def _shape_of_names(path: Path) -> list[str]:
    """File names with the prefix and {ID} replaced, so two packages' layouts compare."""
    import re

    out = []
    for p in Path(path).rglob("*"):
        if p.is_file():
            rel = p.relative_to(path).as_posix()
            out.append(re.sub(r"^[a-z0-9-]+-(images|meta|raw)-\d{16}", r"{prefix}-\1-{ID}", rel))
    return out
