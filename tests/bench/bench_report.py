"""How long the gap report takes on a 100,000-row table, against pandas reading the same file.

Run on purpose:  python tests/bench/bench_report.py [--rows N] [--repeat K]

The table looks like an EcoTaxa/UVP export: degree-minute text positions, YYYYMMDD dates and HMM
times written without leading zeros, depth ranges, a pixel size, and 30 numeric feature columns.
Two cases: "typical" (a cruise: few distinct dates and positions, a distinct time for most rows)
and "worst" (every value distinct, 30 % of positions at 0,0 and 5 % placeholders, so the report
lists some 35,000 problems).  Timed: reading the table with the packer's own reader, suggesting
and applying the mapping (no flags given), building the report and rendering its text and JSON.
The machine is shared, so the ratio to pandas.read_csv of the same file is the number to compare.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from aqqua_packer.mapping import Mapping, apply_mapping  # noqa: E402
from aqqua_packer.report import build_report  # noqa: E402
from aqqua_packer.sources.base import ImageRef, Scan  # noqa: E402
from aqqua_packer.sources.tables import read_table  # noqa: E402

FEATURES = [f"object_feature_{i}" for i in range(30)]


def write_table(path: Path, n: int, worst: bool, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    header = [
        "img_file_name",
        "object_id",
        "object_lat",
        "object_lon",
        "object_date",
        "object_time",
        "object_depth_min",
        "object_depth_max",
        "acq_pixel",
        *FEATURES,
    ]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter="\t")
        w.writerow(header)
        feats = rng.normal(100, 30, (n, len(FEATURES))).round(3)
        for i in range(n):
            if worst:
                lat = f"{int(rng.integers(0, 80))}°{int(rng.integers(0, 60))} {rng.uniform(0, 60):.3f}"
                lon = f"{rng.uniform(-179, 179):.6f}"
                r = rng.random()
                if r < 0.30:
                    lat = lon = "0"
                elif r < 0.35:
                    lat = "NA"
                date = (
                    pd.Timestamp("2000-01-01") + pd.Timedelta(days=int(rng.integers(0, 9000)))
                ).strftime("%Y%m%d")
                tm = str(
                    int(rng.integers(0, 24)) * 10000
                    + int(rng.integers(0, 60)) * 100
                    + int(rng.integers(0, 60))
                )
                dmin = f"{rng.uniform(0, 3000):.2f}"
            else:
                station = i // 5000
                lat = f"43°{station % 60} {station % 7 * 7}"
                lon = f"7°{station % 60}.5'E"
                date = f"202002{5 + station % 20:02d}"
                tm = str(i % 86_400 // 3600 * 100 + i % 3600 // 60)  # HMM / HHMM, no leading zeros
                dmin = f"{i % 3000 / 10:.1f}"
            w.writerow(
                [
                    f"sub{i % 7}/img_{i:06d}.png",
                    f"obj_{i}",
                    lat,
                    lon,
                    date,
                    tm,
                    dmin,
                    dmin,
                    "73",
                    *feats[i],
                ]
            )


def run_once(path: Path, n: int) -> dict[str, float]:
    t0 = time.perf_counter()
    rows = read_table(path, skip_type_line=True)
    t1 = time.perf_counter()
    images = [ImageRef(name=f"sub{i % 7}/img_{i:06d}.png", path="") for i in range(n)]
    scan = Scan(
        "uvp6", path.parent, images, rows, {"fields": {"image": {"column": "img_file_name"}}}
    )
    mapped = apply_mapping([scan], Mapping())
    t2 = time.perf_counter()
    report = build_report(mapped)
    text = report.to_text()
    js = report.to_json()
    t3 = time.perf_counter()
    return {
        "read": t1 - t0,
        "map": t2 - t1,
        "report": t3 - t2,
        "total": t3 - t0,
        "ready": report.ready,
        "problems": len(report.problems),
        "text_lines": len(text.splitlines()),
        "json_mb": len(js) / 1e6,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for case in ("typical", "worst"):
            path = Path(tmp) / f"{case}.tsv"
            write_table(path, args.rows, worst=case == "worst")
            size = path.stat().st_size / 1e6
            base = min(
                _timed(lambda p=path: pd.read_csv(p, sep="\t", dtype=str))
                for _ in range(args.repeat)
            )
            runs = [run_once(path, args.rows) for _ in range(args.repeat)]
            best = min(runs, key=lambda r: r["total"])
            print(
                f"{case:8s} {args.rows:,} rows, {size:.1f} MB: report in {best['total']:.2f} s "
                f"(read {best['read']:.2f}, map {best['map']:.2f}, report {best['report']:.2f}); "
                f"pandas.read_csv {base:.2f} s; ratio {best['total'] / base:.1f}x; "
                f"{best['ready']:,} ready, {best['problems']:,} problems, "
                f"text {best['text_lines']} lines, JSON {best['json_mb']:.1f} MB"
            )


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
