"""`aqqua-packer pack` on hostile input (issue 15): every image is packed or named, never an
internal error, and skipped.csv is always written."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np
from PIL import Image
from pkgtools import cli

from aqqua_packer import open_package

SETS = [
    "datetime=2020-01-01T00:00:00Z",
    "latitude=1",
    "longitude=2",
    "altitude=-3",
    "pixel_size=1",
]


def pack(src: Path, out: Path, *extra: str):
    args = ["pack", str(src), "--out", str(out), "-q", "--workers", "1"]
    args += [a for s in SETS for a in ("--set", s)]
    args += ["--contributor", "Ana", "--email", "ana@example.org", "--institution", "Lab"]
    return cli(*args, *extra, timeout=120)


def picture(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:48, 0:64]
    blob = 200 * np.exp(-((x - rng.uniform(15, 50)) ** 2 + (y - 24) ** 2) / 200)
    return np.clip(30 + blob + rng.normal(0, 8, blob.shape), 0, 255).astype(np.uint8)


def packed_names(out: Path) -> list[str]:
    import pyarrow.parquet as pq

    names: list[str] = []
    for s in open_package(out).shards:
        names += pq.read_table(s.meta_path, columns=["image-filename"]).column(0).to_pylist()
    return sorted(names)


def skipped(out: Path) -> list[dict]:
    text = (out / "skipped.csv").read_bytes().decode("utf-8")  # valid UTF-8, always
    return list(csv.DictReader(io.StringIO(text)))


def test_pack_keeps_the_jpeg_when_its_tiff_twin_does_not_decode(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    arr = picture(1)
    Image.fromarray(arr).save(src / "obj.jpg", format="JPEG")
    Image.fromarray(arr).save(src / "obj.tif")
    (src / "obj.tif").write_bytes((src / "obj.tif").read_bytes()[:200])
    r = pack(src, tmp_path / "out", "--skip-incomplete")
    assert r.returncode == 0, r.stderr
    assert packed_names(tmp_path / "out") == ["obj.jpg"]  # was "Packed: 0 images"
    assert [row["image-filename"] for row in skipped(tmp_path / "out")] == ["obj.tif"]


def test_pack_of_file_names_that_are_not_utf8_packs_them_and_writes_skipped_csv(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    Image.fromarray(picture(1)).save(os.fsencode(src) + b"/latin\xe9.png", format="PNG")
    (Path(os.fsdecode(os.fsencode(src) + b"/broken\xe9.png"))).write_bytes(b"\x89PNG\r\n")
    r = pack(src, tmp_path / "out", "--skip-incomplete")
    assert r.returncode == 0, r.stderr  # was exit 3 "internal error (UnicodeEncodeError…)"
    assert "internal error" not in r.stderr
    assert packed_names(tmp_path / "out") == ["latin%E9.png"]
    (row,) = skipped(tmp_path / "out")
    assert row["image-filename"] == "broken%E9.png" and row["source"].endswith("broken%E9.png")
    v = cli("verify", str(tmp_path / "out"), timeout=120)
    assert v.returncode == 0, v.stdout + v.stderr


def test_pack_with_a_dangling_link_and_a_pipe_in_the_source_is_not_an_internal_error(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    Image.fromarray(picture(1)).save(src / "a.png")
    os.symlink(tmp_path / "gone.png", src / "b.png")
    os.mkfifo(src / "c.png")
    for cmd in (["scan", str(src)], ["check", str(src), "-q"]):
        r = cli(*cmd, timeout=60)
        assert "internal error" not in r.stderr and r.returncode in (0, 1), r.stderr
    r = pack(src, tmp_path / "out")
    assert r.returncode == 0, r.stderr  # was exit 3 "internal error (FileNotFoundError …)"
    assert packed_names(tmp_path / "out") == ["a.png"]
