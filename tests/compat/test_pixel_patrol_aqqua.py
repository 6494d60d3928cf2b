"""AqQua's published reader, pixel-patrol-aqqua 1.0.1, opens every shard we write, gives back every
array unchanged and joins every image to its meta row.

It needs Python 3.12; the test builds (once) a venv for it under ~/.cache/aqqua-packer-tests (or
$AQQUA_TEST_CACHE) and is skipped where no Python 3.12 exists or the package cannot be installed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "package"))

from pkgtools import CONSTANTS  # noqa: E402

from aqqua_packer.package.write import PackOptions  # noqa: E402
from aqqua_packer.workflow import Request, pack  # noqa: E402

VERSION = "1.0.1"
HERE = Path(__file__).resolve().parent


def _python312() -> str | None:
    for cand in (
        os.environ.get("AQQUA_PYTHON312"),
        "/root/.pyenv/versions/3.12.1/bin/python3",
        shutil.which("python3.12"),
    ):
        if cand and Path(cand).exists():
            return cand
    return None


@pytest.fixture(scope="session")
def pixel_patrol_python() -> Path:
    py = _python312()
    if py is None:
        pytest.skip("no Python 3.12 on this machine (pixel-patrol-aqqua needs it)")
    cache = Path(os.environ.get("AQQUA_TEST_CACHE", Path.home() / ".cache" / "aqqua-packer-tests"))
    cache.mkdir(parents=True, exist_ok=True)
    venv = cache / f"pixel-patrol-aqqua-{VERSION}"
    python = venv / "bin" / "python"
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test runs build it once
        if not (venv / ".ready").exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([py, "-m", "venv", str(venv)], check=True, timeout=300)
            r = subprocess.run(
                [str(python), "-m", "pip", "install", "-q", f"pixel-patrol-aqqua=={VERSION}"],
                capture_output=True,
                text=True,
                timeout=1200,
            )
            if r.returncode != 0:
                pytest.skip(f"cannot install pixel-patrol-aqqua {VERSION}: {r.stderr[-500:]}")
            (venv / ".ready").write_text(VERSION)
    return python


def _sources(folder: Path) -> dict[str, np.ndarray]:
    """Grey 8-bit, RGB, RGBA, 16-bit: every layout we write, as the source pixels (C, Y, X)."""
    rng = np.random.default_rng(11)
    want = {}
    for i in range(6):
        a = rng.integers(0, 256, (30 + i, 40 + 2 * i)).astype(np.uint8)
        Image.fromarray(a).save(folder / f"grey_{i}.png")
        want[f"grey_{i}.png"] = a
    for i in range(3):
        a = rng.integers(0, 256, (20 + i, 25, 3)).astype(np.uint8)
        Image.fromarray(a).save(folder / f"colour_{i}.png")
        want[f"colour_{i}.png"] = np.moveaxis(a, -1, 0)
    a = rng.integers(0, 256, (16, 18, 4)).astype(np.uint8)
    Image.fromarray(a, "RGBA").save(folder / "alpha.png")
    want["alpha.png"] = np.moveaxis(a, -1, 0)
    for i in range(2):
        a = rng.integers(0, 65536, (33, 31 + i)).astype(np.uint16)
        tifffile.imwrite(folder / f"deep_{i}.tif", a)
        want[f"deep_{i}.tif"] = a
    # Compressible pixels (noise is stored as is): narrow rows are row-predicted (frames.py,
    # ROW_PREDICTION), rows over 255 bytes use the level's own filters.
    for h, w in ((50, 120), (40, 255), (40, 300)):
        yy, xx = np.indices((h, w))
        a = ((yy * 3 + xx * 2 + rng.integers(0, 4, (h, w))) % 256).astype(np.uint8)
        Image.fromarray(a).save(folder / f"smooth_{w}.png")
        want[f"smooth_{w}.png"] = a
    yy, xx = np.indices((40, 80))
    a = np.stack([(yy + xx) % 256, (2 * yy) % 256, (3 * xx) % 256], -1).astype(np.uint8)
    Image.fromarray(a).save(folder / "smooth_colour.png")
    want["smooth_colour.png"] = np.moveaxis(a, -1, 0)
    for w in (100, 200):
        yy, xx = np.indices((30, w))
        a = ((yy * 300 + xx * 7) % 65536).astype(np.uint16)
        tifffile.imwrite(folder / f"smooth_deep_{w}.tif", a)
        want[f"smooth_deep_{w}.tif"] = a
    return want


@pytest.mark.slow
@pytest.mark.parametrize("compression", ["fast", "balanced", "small"])
def test_pixel_patrol_aqqua_reads_every_shard_pixel_exact_and_joins_meta(
    tmp_path, pixel_patrol_python, compression
):
    """With its pinned blosc2 (4.0.0), at every --compression level."""
    src = tmp_path / "src"
    src.mkdir()
    want = _sources(src)
    out = tmp_path / "pkg"
    # A small shard size, so the package has several shards.
    result = pack(
        Request([src], sets=CONSTANTS),
        out,
        options=PackOptions(workers=2, shard_bytes=8 * 1024, compression=compression),
        dataset=None,
    )
    assert len(result.shards) >= 3
    r = subprocess.run(
        [str(pixel_patrol_python), str(HERE / "pixel_patrol_probe.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    seen = json.loads(r.stdout.strip().splitlines()[-1])
    assert seen["complaints"] == []
    assert seen["blosc2"] == "4.0.0"  # the version the published reader pins
    assert seen["stores"] == len(result.shards)
    by_name = {v["image-filename"]: v for v in seen["images"].values()}
    assert set(by_name) == set(
        want
    )  # every image joined to its meta row (the file name comes from it)
    for name, arr in want.items():
        got = by_name[name]
        assert got["sha256"] == hashlib.sha256(arr.tobytes()).hexdigest(), name
        assert got["shape"] == list(arr.shape) and got["dtype"] == str(arr.dtype), name
        assert got["dim_order"] == ("YX" if arr.ndim == 2 else "CYX")
        assert got["image-latitude"] == pytest.approx(43.68)
        assert got["image-set-name"] == "pkg"  # from image-set.toml
        if arr.ndim == 3:
            assert got["channel_names"][:3] == ["red", "green", "blue"]
