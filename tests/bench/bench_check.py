"""How long `check` takes on a folder of 100,000 small PNGs and a CSV, with and without its look
at every image, and with another checkout's code (the time "before").

Run on purpose:  python tests/bench/bench_check.py [N] [--before DIR] [--keep DIR] [--decode]

Makes N grey 64x64 PNGs (different pixels each) in folders of 1,000 and a CSV with position,
time, depth and pixel size for each, then times ``python -m aqqua_packer check SRC -q --json``
once with this checkout's code and, with ``--before``, once with the other checkout's (e.g. the
main branch), in the same run, alternating, so the shared machine's load hits both alike.  The
files are in the page cache for every run (they were just written); a first run on a cold disk
reads the headers from disk, which is slower for both.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def png_bytes(seed: int, size: int = 64) -> bytes:
    """A valid grey PNG with pixels that depend on ``seed`` (no two files alike)."""
    import struct

    raw = b"".join(
        b"\x00" + bytes((seed * 7 + y * 13 + x) & 0xFF for x in range(size)) for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def make_folder(root: Path, n: int) -> None:
    root.mkdir(parents=True)
    pngs = [png_bytes(s) for s in range(256)]
    lines = ["file,latitude,longitude,datetime,depth_m,pixel_size_um"]
    for i in range(n):
        d = root / f"d{i // 1000:04d}"
        if i % 1000 == 0:
            d.mkdir()
        name = f"img_{i:06d}.png"
        (d / name).write_bytes(pngs[i % 256])
        lines.append(
            f"{name},{43 + i % 100 / 1000:.3f},{7 + i % 70 / 1000:.3f},"
            f"2024-05-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z,{i % 300},10.6"
        )
    (root / "metadata.csv").write_text("\n".join(lines) + "\n")


def time_check(code: Path, src: Path, extra: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds user + system, exit code) of one ``check`` in a new process."""
    env = dict(os.environ, PYTHONPATH=str(code))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "aqqua_packer", "check", str(src), "-q", "--json", *extra],
        env=env,
        cwd=code,  # "python -m" puts the working folder first on the path
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, r.returncode


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=100_000)
    ap.add_argument("--before", type=Path, help="a checkout with the code to compare against")
    ap.add_argument("--keep", type=Path, help="make (or reuse) the folder here, keep it")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--decode", action="store_true", help="also time check --decode")
    a = ap.parse_args()
    tmp = None
    if a.keep:
        src = a.keep
    else:
        tmp = Path(tempfile.mkdtemp(prefix="aqqua-bench-check-"))
        src = tmp / "set"
    try:
        if not src.exists():
            t0 = time.perf_counter()
            make_folder(src, a.n)
            print(f"made {a.n} PNGs and a CSV in {time.perf_counter() - t0:.1f} s")
        runs: dict[str, list[tuple[float, float, int]]] = {}
        cases = [("this checkout", ROOT, [])]
        if a.before:
            cases.insert(0, (f"before ({a.before})", a.before, []))
        if a.decode:
            cases.append(("this checkout, --decode", ROOT, ["--decode"]))
        for _ in range(a.repeat):
            for label, code, extra in cases:
                runs.setdefault(label, []).append(time_check(code, src, extra))
        print("CPU time (user + system) is the number to compare on a shared machine:")
        for k, rs in runs.items():
            cpu = ", ".join(f"{c:.1f}" for _, c, _ in rs)
            wall = ", ".join(f"{w:.1f}" for w, _, _ in rs)
            codes = sorted({rc for _, _, rc in rs})
            print(
                f"  {k}: CPU best {min(c for _, c, _ in rs):.2f} s ({cpu}); wall {wall} s; exit {codes}"
            )
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
