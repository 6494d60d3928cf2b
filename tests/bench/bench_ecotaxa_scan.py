"""How long the EcoTaxa reader takes on a large export, against listing the folder and pandas.

Run on purpose:  python tests/bench/bench_ecotaxa_scan.py [--images N]

An EcoTaxa export folder as UVP and ZooScan users hand them over: N vignettes (tiny files: the
reader never decodes pixels) in two sub-folders, and one ``ecotaxa_*.tsv`` with a ``[t]``/``[f]``
line and 40 columns, one row per vignette.  Timed, each in the same run:

* baseline 1: ``os.scandir`` of the folders (the least any reader must do);
* baseline 2: ``pandas.read_csv`` of the TSV (a fast C parser, no joining);
* every registry reader's ``detect`` (what ``scan`` asks first);
* ``ecotaxa.scan`` (list, read the table as text, join each row to its image, suggest a mapping).

The machine is shared and noisy, so the ratios to the baselines are the numbers to compare.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from aqqua_packer.progress import null_task  # noqa: E402
from aqqua_packer.sources import ecotaxa  # noqa: E402
from aqqua_packer.sources.registry import detect_all  # noqa: E402


def build(root: Path, n: int) -> Path:
    extra = [f"object_feature_{i}" for i in range(30)]
    header = ["img_file_name", "img_rank", "object_id", "object_lat", "object_lon", "object_date"]
    header += ["object_time", "object_depth_min", "object_depth_max", "acq_pixel", *extra]
    for sub in ("sub1", "sub2"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(header), "\t".join("[t]" if i < 3 else "[f]" for i in range(len(header)))]
    for i in range(n):
        name = f"sub{1 + i % 2}/{i:07d}.png"
        (root / name).write_bytes(b"")
        vals = [
            name,
            "1",
            f"o{i}",
            "43°0 0",
            "17°0 0",
            "20200205",
            f"{i % 240000:06d}",
            "10",
            "12",
            "73",
        ]
        vals += [f"{(i * 7 + k) % 1000 / 10}" for k in range(30)]
        lines.append("\t".join(vals))
    (root / "ecotaxa_big.tsv").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    return root


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = build(Path(tmp) / "export", args.images)

        def listing():
            return sum(1 for d in (root, root / "sub1", root / "sub2") for _ in os.scandir(d))

        t_list, _ = timed(listing)
        t_pd, df = timed(
            lambda: pd.read_csv(
                root / "ecotaxa_big.tsv", sep="\t", skiprows=[1], dtype=str, encoding="latin-1"
            )
        )
        t_det, dets = timed(lambda: detect_all(root))
        t_scan, scans = timed(lambda: ecotaxa.scan(root, null_task()))
        s = scans[0]
        assert len(s.images) == args.images == len(df), (len(s.images), len(df))
        print(
            f"{args.images} images, one {len(df.columns)}-column table; best reader: {dets[0][0]} ({dets[0][1].confidence})"
        )
        print(f"  scandir of the folders       {t_list:7.2f} s  (baseline 1)")
        print(f"  pandas.read_csv of the TSV   {t_pd:7.2f} s  (baseline 2)")
        print(
            f"  every reader's detect()      {t_det:7.2f} s  = {t_det / t_list:5.1f} x baseline 1"
        )
        print(
            f"  ecotaxa.scan                 {t_scan:7.2f} s  = {t_scan / t_list:5.1f} x baseline 1, {t_scan / t_pd:5.1f} x baseline 2"
        )


if __name__ == "__main__":
    main()
