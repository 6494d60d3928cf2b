"""Benchmark: pack N plankton-like PNGs and compare with the floor, measured in the same run.

    python tests/bench/bench_pack.py                  # N = 10,000: time, size, memory
    python tests/bench/bench_pack.py --n 2000         # quicker
    python tests/bench/bench_pack.py --scale 100000   # also pack 100,000 and compare peak memory
    python tests/bench/bench_pack.py --codecs         # the codec table of docs/format.md

Ratios printed (targets from issue 2):
  time   = wall clock of `aqqua-packer pack` (start-up, scan, mapping, packing, manifest)
           / wall clock of merely decoding the same PNGs with Pillow on the same number of
           processes (a fresh interpreter with a process pool; start-up included)   <= 2.5
  size   = package bytes (every file) / PNG bytes                                  <= 1.35
  memory = peak at the large N / peak at N (main process RSS and whole-tree PSS)   <= 1.2, < 400 MB
Images are generated once and cached in ~/.cache/aqqua-packer-bench (or $AQQUA_BENCH_CACHE).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from plankton_images import MAPS, vignette, write_table  # noqa: E402

CACHE = Path(os.environ.get("AQQUA_BENCH_CACHE", Path.home() / ".cache" / "aqqua-packer-bench"))


# --- data ---------------------------------------------------------------------------------------
BASE = 10_000  # images drawn from scratch; beyond them, variants of these (cheaper to make)


def _variant(folder: Path, i: int) -> np.ndarray:
    """Image i >= BASE: image i % BASE flipped/rotated/cropped and re-noised: new, still varied."""
    from PIL import Image

    prefix = "plankton-small-" if folder.name.startswith("plankton-small-") else "plankton-"
    src = np.asarray(Image.open(CACHE / f"{prefix}{BASE}" / f"img_{i % BASE:06d}.png"))
    k = i // BASE
    a = np.rot90(src, k % 4) if src.ndim == 2 else np.rot90(src, k % 4, axes=(0, 1))
    if k % 2:
        a = a[:, ::-1]
    c = k % 5
    if c and min(a.shape[:2]) > 4 * c:
        a = a[c:-c, c:-c]
    rng = np.random.default_rng(i)
    noise = rng.integers(-1, 2, a.shape)
    return np.clip(a.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def _small(arr: np.ndarray, i: int) -> np.ndarray:
    """A small vignette (~15-20 kB PNG, typical of plankton): the middle of a drawn scene."""
    s = int(np.random.default_rng(i).integers(120, 260))
    h, w = arr.shape[:2]
    y, x = max(0, (h - s) // 2), max(0, (w - s) // 2)
    return np.ascontiguousarray(arr[y : y + s, x : x + s])


def _write_range(args: tuple[str, int, int]) -> None:
    from PIL import Image

    folder, start, stop = args
    small = Path(folder).name.startswith("plankton-small-")
    for i in range(start, stop):
        p = Path(folder) / f"img_{i:06d}.png"
        if not p.exists():
            if i < BASE:
                arr = vignette(
                    np.random.default_rng(1_000_003 * i + 17)
                )  # image i is the same whatever N is
                if small:
                    arr = _small(arr, i)
            else:
                arr = _variant(Path(folder), i)
            tmp = p.with_suffix(".tmp")
            # Variants are for the memory-scaling run only: quick zlib level, so 90,000 of them
            # take minutes, not hours (their PNG bytes are larger; no size ratio is taken on them).
            Image.fromarray(np.ascontiguousarray(arr)).save(
                tmp, format="PNG", compress_level=6 if i < BASE else 1
            )
            tmp.rename(p)


def dataset(n: int, workers: int, small: bool = False) -> Path:
    """A folder of ``n`` PNGs + meta.csv (cached; the first n of a larger set are reused)."""
    if n > BASE:
        dataset(BASE, workers, small)
    prefix = "plankton-small-" if small else "plankton-"
    folder = CACHE / f"{prefix}{n}"
    done = folder / ".complete"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    bigger = sorted(
        (
            p
            for p in CACHE.glob(f"{prefix}*")
            if (p / ".complete").exists() and p.name[len(prefix) :].isdigit()
        ),
        key=lambda p: int(p.name[len(prefix) :]),
    )
    for b in bigger:  # hard-link what an earlier, larger or smaller, set already made
        for i in range(min(n, int(b.name[len(prefix) :]))):
            src, dst = b / f"img_{i:06d}.png", folder / f"img_{i:06d}.png"
            if not dst.exists():
                os.link(src, dst)
    print(f"generating {n} images in {folder} …", flush=True)
    step = 500
    with ProcessPoolExecutor(workers) as ex:
        list(ex.map(_write_range, [(str(folder), s, min(n, s + step)) for s in range(0, n, step)]))
    write_table(folder, [folder / f"img_{i:06d}.png" for i in range(n)])
    done.write_text(str(n))
    return folder


# --- measuring ----------------------------------------------------------------------------------
class PeakMemory:
    """Polls a process tree: peak RSS of the main process, peak PSS of the whole tree."""

    def __init__(self, pid: int, interval: float = 0.25):
        import psutil

        self.proc = psutil.Process(pid)
        self.main_rss = 0
        self.tree_pss = 0
        self.worker_rss = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._t.start()

    def _run(self, interval: float) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                self.main_rss = max(self.main_rss, self.proc.memory_info().rss)
                total = 0
                for p in procs:
                    try:
                        total += p.memory_full_info().pss
                        if p.pid != self.proc.pid:
                            self.worker_rss = max(self.worker_rss, p.memory_info().rss)
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        pass
                self.tree_pss = max(self.tree_pss, total)
            except psutil.NoSuchProcess:
                return
            self._stop.wait(interval)

    def stop(self) -> None:
        self._stop.set()
        self._t.join()


DECODE_SCRIPT = r"""
import sys, os, glob
from concurrent.futures import ProcessPoolExecutor
import numpy as np
from PIL import Image

def decode(paths):
    n = 0
    for p in paths:
        with Image.open(p) as im:
            a = np.asarray(im)
        n += a.size
    return n

if __name__ == "__main__":
    folder, workers = sys.argv[1], int(sys.argv[2])
    files = sorted(glob.glob(os.path.join(folder, "*.png")))
    chunks = [files[i:i + 64] for i in range(0, len(files), 64)]
    with ProcessPoolExecutor(workers) as ex:
        print(sum(ex.map(decode, chunks)))
"""


def time_decode(folder: Path, workers: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(DECODE_SCRIPT)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, fh.name, str(folder), str(workers)], check=True, capture_output=True
    )
    dt = time.perf_counter() - t0
    os.unlink(fh.name)
    return dt


def time_pack(folder: Path, out: Path, workers: int) -> tuple[float, PeakMemory]:
    if out.exists():
        shutil.rmtree(out)
    cmd = [
        sys.executable,
        "-m",
        "aqqua_packer",
        "pack",
        str(folder),
        "--out",
        str(out),
        "-q",
        "--workers",
        str(workers),
    ]
    for m in MAPS:
        cmd += ["--map", m]
    if os.environ.get("AQQUA_BENCH_COMPRESSION"):
        cmd += ["--compression", os.environ["AQQUA_BENCH_COMPRESSION"]]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    mem = PeakMemory(proc.pid)
    out_text, err = proc.communicate()
    dt = time.perf_counter() - t0
    mem.stop()
    if proc.returncode != 0:
        raise SystemExit(f"pack failed: {err}")
    return dt, mem


def peak_check(folder: Path) -> PeakMemory:
    """Peak memory of `aqqua-packer check` on the same input: scanning and mapping alone, the
    part of pack's peak that is not the packing."""
    cmd = [sys.executable, "-m", "aqqua_packer", "check", str(folder), "-q", "--json"]
    for m in MAPS:
        cmd += ["--map", m]
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    mem = PeakMemory(proc.pid)
    proc.communicate()
    mem.stop()
    return mem


def tree_bytes(folder: Path, suffix: str | None = None) -> int:
    return sum(
        p.stat().st_size
        for p in folder.rglob("*")
        if p.is_file() and (suffix is None or p.suffix == suffix)
    )


# --- codec table ----------------------------------------------------------------------------------
def codec_table(folder: Path, sample: int = 600) -> None:
    import blosc2
    from PIL import Image

    files = sorted(folder.glob("*.png"))[:sample]
    arrs8 = []
    for f in files:
        a = np.asarray(Image.open(f))
        arrs8.append(np.ascontiguousarray(np.moveaxis(a, -1, 0)) if a.ndim == 3 else a)
    png8 = sum(f.stat().st_size for f in files)
    # 16-bit: the same scenes as a 12-bit camera would record them, saved as 16-bit PNG for reference.
    rng = np.random.default_rng(0)
    arrs16, png16 = [], 0
    tmp = Path(tempfile.mkdtemp())
    for i, a in enumerate(arrs8[:200]):
        b = (a.astype(np.uint16) * 16 + rng.integers(0, 16, a.shape)).astype(np.uint16)
        if b.ndim == 3:
            b = b[0]
        Image.fromarray(b).save(tmp / f"{i}.png")
        png16 += (tmp / f"{i}.png").stat().st_size
        arrs16.append(b)
    shutil.rmtree(tmp)
    t0 = time.perf_counter()
    for f in files:
        with Image.open(f) as im:
            im.load()
    decode_ms = (time.perf_counter() - t0) / len(files) * 1000
    print(
        f"\nCodec table: {len(files)} 8-bit images ({png8 / len(files) / 1000:.1f} kB PNG each), {len(arrs16)} 16-bit; PNG decode {decode_ms:.2f} ms/image"
    )
    print("| pixels | codec | filter | clevel | ms / image (compress) | bytes / PNG bytes |")
    print("|---|---|---|---|---|---|")
    F, C = blosc2.Filter, blosc2.Codec
    configs = [
        (C.ZSTD, F.BITSHUFFLE, 1),
        (C.ZSTD, F.BITSHUFFLE, 3),
        (C.ZSTD, F.BITSHUFFLE, 5),
        (C.ZSTD, F.BITSHUFFLE, 9),
        (C.ZSTD, F.SHUFFLE, 1),
        (C.ZSTD, F.SHUFFLE, 5),
        (C.ZSTD, F.NOFILTER, 1),
        (C.LZ4, F.BITSHUFFLE, 5),
        (C.LZ4HC, F.BITSHUFFLE, 5),
        (C.BLOSCLZ, F.BITSHUFFLE, 5),
    ]
    for label, arrs, png in (("uint8", arrs8, png8), ("uint16", arrs16, png16)):
        for codec, filt, clevel in configs:
            t0 = time.perf_counter()
            total = 0
            for a in arrs:
                total += len(
                    blosc2.compress2(
                        a,
                        codec=codec,
                        clevel=clevel,
                        filters=[filt],
                        typesize=a.itemsize,
                        nthreads=1,
                        blocksize=a.nbytes,
                    )
                )
            ms = (time.perf_counter() - t0) / len(arrs) * 1000
            print(
                f"| {label} | {codec.name} | {filt.name} | {clevel} | {ms:.2f} | {total / png:.3f} |"
            )


# --- main -----------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=10_000, help="images (default 10,000)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument(
        "--scale",
        type=int,
        default=0,
        metavar="N2",
        help="also pack N2 images and compare peak memory",
    )
    ap.add_argument("--codecs", action="store_true", help="print the codec table and exit")
    ap.add_argument(
        "--small", action="store_true", help="small vignettes (~17 kB PNGs) instead of the scenes"
    )
    ap.add_argument(
        "--compression", default=None, help="pack with this --compression level (default: its own)"
    )
    ap.add_argument(
        "--check-memory",
        action="store_true",
        help="only: peak memory of `check` at --n and --scale",
    )
    ap.add_argument("--keep", action="store_true", help="keep the packages written")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each (best is kept; default 2)")
    args = ap.parse_args()

    folder = dataset(args.n, args.workers, args.small)
    if args.compression:
        os.environ["AQQUA_BENCH_COMPRESSION"] = args.compression
    if args.codecs:
        codec_table(folder)
        return 0
    if args.check_memory:
        for n in (args.n, args.scale or args.n):
            m = peak_check(dataset(n, args.workers))
            print(f"check on {n} images: main RSS peak {m.main_rss / 2**20:.0f} MiB")
        return 0
    work = Path(tempfile.mkdtemp(prefix="aqqua-bench-"))
    try:
        png = tree_bytes(folder, ".png")
        # Alternate decode and pack runs and keep the best of each: the machine is shared, and
        # the ratio should not depend on which of the two happened to run during a load spike.
        decodes, packs = [], []
        for _ in range(args.repeat):
            decodes.append(time_decode(folder, args.workers))
            packs.append(time_pack(folder, work / "pkg", args.workers))
        base = min(decodes)
        t_pack, mem = min(packs, key=lambda t: t[0])
        mem.main_rss = max(m.main_rss for _, m in packs)
        mem.tree_pss = max(m.tree_pss for _, m in packs)
        mem.worker_rss = max(m.worker_rss for _, m in packs)
        pkg = tree_bytes(work / "pkg")
        stores = sum(p.stat().st_size for p in (work / "pkg").glob("*.lmdb/data.mdb"))
        print(f"\n{args.n} PNGs, {png / 1e6:.1f} MB, {args.workers} processes")
        print(
            f"  Pillow decode only : {', '.join(f'{t:.1f}' for t in decodes)} s (baseline: best {base:.1f} s)"
        )
        print(
            f"  aqqua-packer pack  : {', '.join(f'{t:.1f}' for t, _ in packs)} s (best {t_pack:.1f} s, {args.n / t_pack:.0f} images/s)"
        )
        print(f"  time ratio         : {t_pack / base:.2f}   (target <= 2.5)")
        print(
            f"  size ratio         : {pkg / png:.3f}  (images only {stores / png:.3f}; target <= 1.35)"
        )
        print(
            f"  peak memory        : main RSS {mem.main_rss / 2**20:.0f} MiB, worker RSS {mem.worker_rss / 2**20:.0f} MiB, whole tree PSS {mem.tree_pss / 2**20:.0f} MiB (target < 400 MB)"
        )
        if args.scale:
            big = dataset(args.scale, args.workers, args.small)
            t_big, mem_big = time_pack(big, work / "big", args.workers)
            print(f"\n{args.scale} PNGs: pack {t_big:.1f} s ({args.scale / t_big:.0f} images/s)")
            print(
                f"  peak memory        : main RSS {mem_big.main_rss / 2**20:.0f} MiB, worker RSS {mem_big.worker_rss / 2**20:.0f} MiB, whole tree PSS {mem_big.tree_pss / 2**20:.0f} MiB"
            )
            print(
                f"  memory ratio       : main {mem_big.main_rss / mem.main_rss:.2f}, tree {mem_big.tree_pss / mem.tree_pss:.2f}   (target <= 1.2)"
            )
            small_check, big_check = peak_check(folder), peak_check(big)
            print(
                f"  of which scan+map  : `check` alone peaks at {small_check.main_rss / 2**20:.0f} MiB ({args.n}) and "
                f"{big_check.main_rss / 2**20:.0f} MiB ({args.scale}); packing adds "
                f"{(mem.main_rss - small_check.main_rss) / 2**20:.0f} and {(mem_big.main_rss - big_check.main_rss) / 2**20:.0f} MiB"
            )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"packages kept in {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
