"""Benchmark: the inventory of 100,000 images across many folders costs a few times `scan`.

Run on purpose:  python tests/bench/bench_inventory.py [FOLDERS] [PER_FOLDER]
Makes FOLDERS (default 100) folders of PER_FOLDER (default 1,000) small PNGs, each with a CSV
naming its images (file, date, time, latitude, longitude, depth, pixel size), then times, in the
same run and on a warm file cache: ``registry.scan_paths`` on the root (what `aqqua-packer scan
ROOT` does: one generic part, the CSVs in sub-folders unread), ``inventory.inventory`` on the
root (one row per folder: scan, suggested mapping, package-size estimate) and ``scan_paths`` on
each folder alone (like for like: each reads its CSV).  Not a timed test: the machine is shared,
so only the ratios in one run mean much.  Each dataset costs a fixed ~50 ms more than its scan
(the mapping's set-up, 12 images encoded for the size estimate), so many small folders give a
larger ratio than a few large ones.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from aqqua_packer.inventory import inventory  # noqa: E402
from aqqua_packer.progress import ProgressEvent, Task  # noqa: E402
from aqqua_packer.sources.registry import scan_paths  # noqa: E402

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c63600000000200015de2d6a40000000049454e44ae426082"
)


def make_tree(root: Path, folders: int, per: int) -> None:
    for f in range(folders):
        d = root / f"cruise_{f:03d}"
        d.mkdir(parents=True)
        lines = ["file,date,time,lat,lon,depth_m,pixel_size_um"]
        for i in range(per):
            name = f"img_{f:03d}_{i:05d}.png"
            (d / name).write_bytes(PNG)
            lines.append(
                f"{name},2024-{1 + f % 12:02d}-{1 + i % 28:02d},12:{i % 60:02d}:00,{f % 80}.5,{i % 170}.25,{i % 50},10.6"
            )
        (d / "metadata.csv").write_text("\n".join(lines) + "\n")


def main() -> None:
    nums = [int(a) for a in sys.argv[1:] if a.isdigit()]
    folders = nums[0] if nums else 100
    per = nums[1] if len(nums) > 1 else 1000
    tmp = Path(tempfile.mkdtemp(prefix="aqqua-bench-inventory-"))
    try:
        t0 = time.perf_counter()
        make_tree(tmp / "tree", folders, per)
        print(
            f"made {folders} folders x {per} PNGs + a CSV each in {time.perf_counter() - t0:.1f} s"
        )
        scan_paths([tmp / "tree"], Task())  # warm the file cache for both runs alike
        t0 = time.perf_counter()
        scans = scan_paths([tmp / "tree"], Task())
        t_scan = time.perf_counter() - t0
        events: list[ProgressEvent] = []
        t0 = time.perf_counter()
        inv = inventory([tmp / "tree"], Task(on_event=events.append))
        t_inv = time.perf_counter() - t0
        t0 = time.perf_counter()  # like for like: `scan` of each folder alone (reads its CSV)
        alone = [s for d in sorted((tmp / "tree").iterdir()) for s in scan_paths([d], Task())]
        t_alone = time.perf_counter() - t0
        images = sum(len(s.images) for s in scans)
        print(f"scan:      {images} images in {len(scans)} part(s) in {t_scan:.2f} s")
        print(
            f"inventory: {sum(r.images for r in inv.rows)} images in {len(inv.datasets)} rows "
            f"({sum(r.ready for r in inv.rows)} ready) in {t_inv:.2f} s"
        )
        print(
            f"scan of each folder alone: {sum(len(s.images) for s in alone)} images, "
            f"{sum(len(s.rows) for s in alone)} rows in {t_alone:.2f} s"
        )
        print(f"ratio inventory / scan: {t_inv / t_scan:.1f}x; progress events: {len(events)}")
        print(f"ratio inventory / scan of each folder alone: {t_inv / t_alone:.1f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
