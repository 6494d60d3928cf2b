"""Benchmark: scanning a folder of 100,000 files shows progress and finishes in seconds.

Run on purpose:  python tests/bench/bench_scan.py [N] [--flat]
Prints the time of a bare ``os.scandir`` walk of the same tree (the floor: listing the files) and
of ``registry.scan_paths`` (detection by every reader + the generic scan + copy detection), and
their ratio.  Not a timed test: the machine is shared, so only the ratio in one run means much.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from aqqua_packer.progress import ProgressEvent, Task  # noqa: E402
from aqqua_packer.sources.registry import scan_paths  # noqa: E402

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c63600000000200015de2d6a40000000049454e44ae426082"
)


def make_tree(root: Path, n: int, flat: bool) -> None:
    per = n if flat else 1000
    for i in range(n):
        d = root if flat else root / f"d{i // per:04d}"
        if i % per == 0:
            d.mkdir(parents=True, exist_ok=True)
        (d / f"img_{i:06d}.png").write_bytes(PNG)
    (root / "metadata.csv").write_text(
        "file,lat\n" + "".join(f"img_{i:06d}.png,{i % 90}\n" for i in range(0, n, 7))
    )


def bare_walk(root: Path) -> int:
    n, stack = 0, [str(root)]
    while stack:
        with os.scandir(stack.pop()) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                else:
                    n += 1
    return n


def main() -> None:
    n = int(next((a for a in sys.argv[1:] if a.isdigit()), 100_000))
    flat = "--flat" in sys.argv
    tmp = Path(tempfile.mkdtemp(prefix="aqqua-bench-scan-"))
    try:
        t0 = time.perf_counter()
        make_tree(tmp / "tree", n, flat)
        print(
            f"made {n} files ({'one folder' if flat else 'folders of 1000'}) in {time.perf_counter() - t0:.1f} s"
        )
        bare_walk(tmp / "tree")  # warm the cache for both runs alike
        t0 = time.perf_counter()
        files = bare_walk(tmp / "tree")
        t_bare = time.perf_counter() - t0
        events: list[ProgressEvent] = []
        task = Task(on_event=events.append, min_interval=0.1)
        t0 = time.perf_counter()
        scans = scan_paths([tmp / "tree"], task)
        t_scan = time.perf_counter() - t0
        images = sum(len(s.images) for s in scans)
        first = next((e.done for e in events if e.done), None)
        print(f"bare os.scandir walk: {files} files in {t_bare:.3f} s")
        print(
            f"scan_paths:           {images} images, {sum(len(s.rows) for s in scans)} rows in {t_scan:.2f} s"
        )
        print(f"ratio scan / bare walk: {t_scan / t_bare:.1f}x")
        print(
            f"progress events: {len(events)} (first with a count at done={first}; last: {events[-1].message!r})"
        )
        assert images == n, (images, n)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
