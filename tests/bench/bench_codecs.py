"""Benchmark: which blosc2 codec, level, filters and block size store plankton images best.

    python tests/bench/bench_codecs.py              # the table of docs/format.md, "Codec"
    python tests/bench/bench_codecs.py --quick      # fewer images and configurations

Four sets, the pixels exactly as the packer stores them (decoded by ``sources.pixels``):
  bench     synthetic plankton vignettes as in bench_pack.py (8-bit, 15 % RGB, ~50 kB PNG)
  small     the same scenes cut to smaller vignettes (~15-20 kB PNG, typical of plankton)
  jpeg      real crops from ../shared/fixtures (FlowCam collage boxes, UVP6 and ZooScan vignettes)
            saved as JPEG (quality 90, as PlanktoScope and many exports do) and decoded again:
            the JPEG decoder's output is what a package stores
  micro16   16-bit microscopy: tiles of the OME-TIFF fixture and 12-bit scenes in uint16
Every size is a ratio to the same pixels saved as PNG (Pillow, compress_level 6); every time is
per image on one thread, next to the time Pillow takes to decode that PNG in the same run.
Block sizes other than "one block per image" are listed for completeness: the packer's fast
frame path (package/frames.py) needs one block per image.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from plankton_images import vignette  # noqa: E402

from aqqua_packer.package import frames  # noqa: E402

SHARED = ROOT.parent / "shared" / "fixtures"


def _chw(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(a, -1, 0)) if a.ndim == 3 else a


def _png_bytes(a: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    img = np.moveaxis(a, 0, -1) if a.ndim == 3 else a
    Image.fromarray(img).save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def set_bench(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [_chw(vignette(rng)) for _ in range(n)]


def set_small(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    out = []
    for _ in range(n):
        a = vignette(rng)
        h, w = a.shape[:2]
        s = int(rng.integers(120, 260))
        y, x = max(0, (h - s) // 2), max(0, (w - s) // 2)
        out.append(_chw(np.ascontiguousarray(a[y : y + s, x : x + s])))
    return out


def _fixture_arrays() -> list[np.ndarray]:
    """Every image the packer reads from the shared fixtures, decoded as it stores them."""
    from aqqua_packer.sources.pixels import load_image
    from aqqua_packer.sources.registry import scan_path

    arrs = []
    for name in ("flowcam", "uvp6", "zooscan", "ifcb"):
        p = SHARED / name
        if not p.exists():
            continue
        for scan in scan_path(p):
            for ref in scan.images:
                arrs.append(load_image(ref).array)
    return arrs


def set_jpeg(n: int) -> list[np.ndarray]:
    from PIL import Image

    out = []
    for a in _fixture_arrays()[:n]:
        img = np.moveaxis(a, 0, -1) if a.ndim == 3 else a
        if img.dtype != np.uint8:
            continue
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=90)
        dec = np.asarray(Image.open(io.BytesIO(buf.getvalue())))
        out.append(_chw(dec))
    return out


def set_micro16(n: int) -> list[np.ndarray]:
    from aqqua_packer.sources.pixels import load_image
    from aqqua_packer.sources.registry import scan_path

    out = []
    p = SHARED / "microscopy"
    if p.exists():
        for scan in scan_path(p):
            for ref in scan.images:
                a = load_image(ref).array
                a = a if a.ndim == 2 else a[0]
                for y in range(0, a.shape[0] - 255, 256):
                    for x in range(0, a.shape[1] - 255, 256):
                        out.append(np.ascontiguousarray(a[y : y + 256, x : x + 256]))
    rng = np.random.default_rng(2)
    while len(out) < n:
        g = vignette(rng)
        g = g if g.ndim == 2 else g[..., 0]
        out.append((g.astype(np.uint16) * 16 + rng.integers(0, 16, g.shape)).astype(np.uint16))
    return out[:n]


def configs(quick: bool) -> list[tuple[str, int, tuple[str, ...], int]]:
    """(codec, clevel, filters, blocksize) with blocksize 0 = one block per image."""
    filt = [
        ("NOFILTER",),
        ("SHUFFLE",),
        ("BITSHUFFLE",),
        ("DELTA",),
        ("DELTA", "SHUFFLE"),
        ("DELTA", "BITSHUFFLE"),
        ("SHUFFLE", "BYTEDELTA"),
    ]
    levels = (1, 5, 9) if quick else (1, 3, 5, 7, 9)
    out = [("ZSTD", lv, f, 0) for f in filt for lv in levels]
    # "ROWS": how `balanced`/`small` store an image whose rows are at most 255 bytes (SHUFFLE at a
    # typesize of one row, then BYTEDELTA: PNG's Up filter); wider images as DELTA (package/frames.py)
    out += [("ZSTD", lv, ("ROWS",), 0) for lv in (1, 3, 5)]
    out += [
        (c, 5, f, 0)
        for c in ("LZ4", "LZ4HC", "BLOSCLZ", "ZLIB")
        for f in (("BITSHUFFLE",), ("DELTA",), ("SHUFFLE", "BYTEDELTA"))
    ]
    out += [("ZSTD", 1, f, bs) for f in (("DELTA",), ("SHUFFLE",)) for bs in (16384, 65536)]
    return out


def measure(arrs: list[np.ndarray], cfg) -> tuple[int, float, float]:
    import blosc2

    codec, clevel, filters, bs = cfg
    total, t_c, t_d = 0, 0.0, 0.0
    for a in arrs:
        typesize, names = a.itemsize, filters
        if filters == ("ROWS",):  # the packer's own rule for which images get rows
            if frames.row_predicted(a, "balanced"):
                typesize, names = a.shape[-1], ("SHUFFLE", "BYTEDELTA")
            else:
                names = ("DELTA",) if a.itemsize == 1 else ("SHUFFLE",)
        fl = [blosc2.Filter[f] for f in names]
        kw = dict(
            codec=blosc2.Codec[codec],
            clevel=clevel,
            filters=fl,
            filters_meta=[0] * len(fl),
            typesize=typesize,
            nthreads=1,
            blocksize=bs or a.nbytes,
        )
        t0 = time.perf_counter()
        c = blosc2.compress2(a, **kw)
        t1 = time.perf_counter()
        out = blosc2.decompress2(c)
        t2 = time.perf_counter()
        assert bytes(out) == a.tobytes(), (cfg, a.shape)
        total += len(c)
        t_c += t1 - t0
        t_d += t2 - t1
    return total, t_c / len(arrs) * 1e3, t_d / len(arrs) * 1e3


def main() -> None:
    import blosc2

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    blosc2.set_nthreads(1)
    n = 120 if args.quick else 400
    sets = {
        "bench": set_bench(n),
        "small": set_small(n),
        "jpeg": set_jpeg(n if args.quick else 600),
        "micro16": set_micro16(n // 2),
    }
    from PIL import Image

    print(f"blosc2 {blosc2.__version__}; one thread; times in ms per image")
    for name, arrs in sets.items():
        pngs = [_png_bytes(a) for a in arrs]
        png_total = sum(len(p) for p in pngs)
        t0 = time.perf_counter()
        for p in pngs:
            with Image.open(io.BytesIO(p)) as im:
                im.load()
        png_ms = (time.perf_counter() - t0) / len(pngs) * 1e3
        raw = sum(a.nbytes for a in arrs)
        print(
            f"\n### {name}: {len(arrs)} images, {raw / len(arrs) / 1e3:.1f} kB raw and "
            f"{png_total / len(arrs) / 1e3:.1f} kB PNG each; PNG decode {png_ms:.2f} ms/image\n"
        )
        print("| codec | clevel | filters | block | bytes / PNG | compress ms | (× PNG decode) | decompress ms |")
        print("|---|---|---|---|---|---|---|---|")
        rows = []
        for cfg in configs(args.quick):
            if arrs[0].itemsize == 1 and "SHUFFLE" in cfg[2] and "BYTEDELTA" not in cfg[2]:
                continue  # byte-shuffle of 1-byte items is no filter at all
            size, c_ms, d_ms = measure(arrs, cfg)
            rows.append((cfg, size / png_total, c_ms, d_ms))
        for cfg, ratio, c_ms, d_ms in sorted(rows, key=lambda r: r[1]):
            codec, clevel, filters, bs = cfg
            print(
                f"| {codec} | {clevel} | {'+'.join(filters)} | {bs or 'image'} | {ratio:.3f} | "
                f"{c_ms:.2f} | {c_ms / png_ms:.2f} | {d_ms:.2f} |"
            )


if __name__ == "__main__":
    main()
