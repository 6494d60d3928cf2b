"""Benchmark: how big a package of JPEG crops is, next to the same pixels saved as PNG.

    python tests/bench/bench_jpeg.py                    # both sets, quality 75 and 95
    python tests/bench/bench_jpeg.py --quality 95       # one JPEG quality
    python tests/bench/bench_jpeg.py --compression small

Issue 17's target: a package of JPEG crops is at most 1.45x the bytes of the same decoded pixels
saved as PNG (Pillow, compress_level 6).  The package is every file `aqqua-packer pack` writes
(LMDB data.mdb, both Parquet files, image-set.toml, manifest, ...), packed from JPEG files and a
CSV by the real command line; the package stores the JPEG decoder's output, so the PNG reference
is made from the decoded JPEGs.

Two sets, cut from the real fixtures in ../shared/fixtures (skipped when absent):
  fixture crops       the crops the instruments made, as they are: FlowCam collage boxes, UVP6
                      and ZooScan vignettes, IFCB ROIs (bench_codecs.py's set; ~1.6 kB as PNG)
  PlanktoScope-sized  RGB crops of the size PlanktoScope exports: each FlowCam particle's box
                      (the real particle on its real background), scaled to a width and height
                      drawn from the object_width / object_height of a real PlanktoScope export
                      (../shared/fixtures-real/planktoscope_export_table: median 253 x 211 px)
                      plus the 10 px margin the PlanktoScope segmenter adds on every side
                      (~14 kB as PNG and ~3 kB as JPEG 75 each, near issue 17's real export:
                      12 kB and 2 kB).  Cutting the collage at those sizes instead gives crops
                      full of box edges and black gaps (80 kB as PNG), unlike PlanktoScope's.

JPEG quality: the PlanktoScope segmenter writes each object with Pillow's default settings
(PlanktoScope/PlanktoScope, segmenter/planktoscope/segmenter/__init__.py, `_save_image`:
`PIL.Image.fromarray(...).save(path)` to `{object_id}.jpg`), i.e. quality 75; many other exports
use 90-95.  Both are measured by default.

The bench prints, per set: package bytes / PNG bytes, and where the bytes are (data.mdb, the
converted and the raw Parquet file, the other files), in total and per image.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from bench_codecs import SHARED, _chw, _fixture_arrays, _png_bytes  # noqa: E402
from plankton_images import MAPS, write_table  # noqa: E402

PLANKTOSCOPE_TABLE = (
    ROOT.parent / "shared" / "fixtures-real" / "planktoscope_export_table" / "global.tsv.gz"
)
MARGIN = 10  # px the PlanktoScope segmenter adds around an object (`__augment_slice`, size=10)


def fixture_crops() -> list[np.ndarray]:
    """The instruments' own crops, (Y, X) or (Y, X, 3) uint8."""
    out = []
    for a in _fixture_arrays():
        img = np.moveaxis(a, 0, -1) if a.ndim == 3 else a
        if img.dtype == np.uint8:
            out.append(np.ascontiguousarray(img))
    return out


def _planktoscope_sizes(n: int, rng: np.random.Generator) -> np.ndarray:
    """(width, height) of ``n`` objects drawn from a real PlanktoScope export, margin added."""
    import pandas as pd

    if PLANKTOSCOPE_TABLE.exists():
        t = pd.read_csv(PLANKTOSCOPE_TABLE, sep="\t", usecols=["object_width", "object_height"])
        wh = t[["object_width", "object_height"]].to_numpy(dtype=np.int64)
    else:  # the export's quartiles, if the table is absent
        wh = np.array([[177, 139], [253, 211], [428, 346]])
    pick = wh[rng.integers(0, len(wh), n)] + 2 * MARGIN
    return np.clip(pick, 40, 600)


def planktoscope_crops(n: int) -> list[np.ndarray]:
    """RGB crops of PlanktoScope sizes: each FlowCam particle's box, scaled (bicubic) to a size
    drawn from a real PlanktoScope export, as if seen at the PlanktoScope's magnification."""
    from PIL import Image

    from aqqua_packer.sources.registry import scan_path

    rng = np.random.default_rng(17)
    sizes = _planktoscope_sizes(n, rng)
    boxes = [
        (ref.path, ref.box)
        for scan in scan_path(SHARED / "flowcam")
        for ref in scan.images
        if ref.box
    ]
    collages = {p: Image.open(p).convert("RGB") for p in dict.fromkeys(p for p, _ in boxes)}
    out = []
    for i in range(n):
        path, (x, y, w, h) = boxes[i % len(boxes)]
        crop = collages[path].crop((x, y, x + w, y + h))
        size = (int(sizes[i][0]), int(sizes[i][1]))
        out.append(np.ascontiguousarray(np.asarray(crop.resize(size, Image.BICUBIC))))
    return out


def write_jpegs(folder: Path, crops: list[np.ndarray], quality: int) -> tuple[list[str], int, int]:
    """Save the crops as JPEG files and a CSV; return the sha256 of each decoded JPEG, the JPEG
    bytes and the PNG bytes of the decoded JPEGs (what the package stores)."""
    import hashlib

    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    paths, shas, jpeg_bytes, png_bytes = [], [], 0, 0
    for i, a in enumerate(crops):
        p = folder / f"obj_{i:05d}.jpg"
        Image.fromarray(a).save(p, format="JPEG", quality=quality)
        jpeg_bytes += p.stat().st_size
        with Image.open(p) as im:
            dec = np.asarray(im)
        png_bytes += len(_png_bytes(_chw(dec)))
        shas.append(hashlib.sha256(_chw(dec).tobytes()).hexdigest())
        paths.append(p)
    write_table(folder, paths)
    return shas, jpeg_bytes, png_bytes


def pack(folder: Path, out: Path, compression: str | None, workers: int) -> float:
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "aqqua_packer", "pack", str(folder), "--out", str(out), "-q"]
    cmd += ["--workers", str(workers), "--name", "jpeg-bench"]
    for m in MAPS:
        cmd += ["--map", m]
    if compression:
        cmd += ["--compression", compression]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"pack failed:\n{proc.stdout}\n{proc.stderr}")
    return time.perf_counter() - t0


def breakdown(out: Path) -> dict[str, int]:
    """Bytes of the package by part: data.mdb, converted and raw Parquet, everything else."""
    parts = {"data.mdb": 0, "meta.parquet": 0, "raw.parquet": 0, "other": 0}
    for p in out.rglob("*"):
        if not p.is_file():
            continue
        size = p.stat().st_size
        if p.name == "data.mdb":
            parts["data.mdb"] += size
        elif p.suffix == ".parquet" and "-meta-" in p.name:
            parts["meta.parquet"] += size
        elif p.suffix == ".parquet":
            parts["raw.parquet"] += size
        else:
            parts["other"] += size
    return parts


def store_parts(out: Path) -> dict[str, int]:
    """data.mdb split: compressed pixels (blosc2 chunks), the rest of each blosc2 frame (header,
    metalayers, the image's meta), and what LMDB adds (pages, page headers, free space)."""
    import blosc2
    import lmdb

    chunks = frames = mdb = 0
    for store in out.glob("*-images-*.lmdb"):
        mdb += (store / "data.mdb").stat().st_size
        env = lmdb.open(str(store), readonly=True, lock=False, max_dbs=2, subdir=True)
        try:
            db = env.open_db(b"image_data", integerkey=True, create=False)
            with env.begin() as txn:
                for _, v in txn.cursor(db):
                    frames += len(v)
                    chunks += blosc2.ndarray_from_cframe(bytes(v)).schunk.cbytes
        finally:
            env.close()
    return {
        "  pixels (blosc2 chunks)": chunks,
        "  frame header + meta": frames - chunks,
        "  LMDB pages beyond the values": mdb - frames,
    }


def _same_pixels(out: Path, shas: list[str]) -> None:
    """The PNG reference holds the very pixels the package stores (its image-pixels-sha256)."""
    import pyarrow.parquet as pq

    stored = []
    for p in out.glob("*-meta-*.parquet"):
        stored += pq.read_table(p, columns=["image-pixels-sha256"]).column(0).to_pylist()
    if sorted(stored) != sorted(shas):
        raise SystemExit(f"{out}: the package does not hold the decoded JPEG pixels")


def run_set(name: str, crops: list[np.ndarray], quality: int, work: Path, args) -> None:
    slug = name.split()[0].lower()
    folder = work / f"{slug}-q{quality}"
    shas, jpeg_total, png_total = write_jpegs(folder, crops, quality)
    out = work / f"{slug}-q{quality}-pkg"
    dt = pack(folder, out, args.compression, args.workers)
    _same_pixels(out, shas)
    parts = breakdown(out)
    total = sum(parts.values())
    n = len(crops)
    print(
        f"\n### {name}, JPEG quality {quality}: {n} crops, JPEG {jpeg_total / n / 1e3:.1f} kB, "
        f"PNG of the decoded pixels {png_total / n / 1e3:.1f} kB per image (pack {dt:.1f} s)"
    )
    print(f"package / PNG bytes: **{total / png_total:.3f}**  (target <= 1.45)")
    print(
        f"package {total / 1e6:.2f} MB, PNG {png_total / 1e6:.2f} MB, JPEG {jpeg_total / 1e6:.2f} MB"
    )
    print("| part | bytes | bytes per image | share of package |")
    print("|---|---|---|---|")
    for k, v in parts.items():
        print(f"| {k} | {v:,} | {v / n:,.0f} | {v / total:.1%} |")
        if k == "data.mdb":
            for k2, v2 in store_parts(out).items():
                print(f"| {k2} | {v2:,} | {v2 / n:,.0f} | {v2 / total:.1%} |")
    print(f"| (PNG reference) | {png_total:,} | {png_total / n:,.0f} | |")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--quality", type=int, action="append", help="JPEG quality (repeat; default 75 and 95)"
    )
    ap.add_argument(
        "--n",
        type=int,
        default=856,
        help="PlanktoScope-sized crops (default 856, as issue 17's export)",
    )
    ap.add_argument("--compression", default=None, help="pack with this --compression level")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep the work folder and print its path")
    args = ap.parse_args()
    if not (SHARED / "flowcam").exists():
        raise SystemExit(f"the fixtures are absent: {SHARED}")
    qualities = args.quality or [75, 95]
    sets = {"fixture crops": fixture_crops(), "PlanktoScope-sized": planktoscope_crops(args.n)}
    print(f"compression {args.compression or 'default'}; load {os.getloadavg()[0]:.1f}")
    work = Path(tempfile.mkdtemp(prefix="bench_jpeg_"))
    try:
        for q in qualities:
            for name, crops in sets.items():
                run_set(name, crops, q, work, args)
    finally:
        if args.keep:
            print(f"\nwork folder: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
