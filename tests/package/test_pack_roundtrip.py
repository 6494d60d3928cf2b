"""Every pixel comes back exactly: each image kind a contributor may have, packed and read back,
compared with the pixels Pillow or tifffile decode from the source file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image
from pkgtools import CONSTANTS

from aqqua_packer import open_package
from aqqua_packer.mapping import apply_mapping, parse_cli_mapping
from aqqua_packer.package.write import PackOptions, write_package
from aqqua_packer.sources import generic
from aqqua_packer.sources.base import ImageRef
from aqqua_packer.workflow import Request, pack


def _noise(rng, shape, dtype=np.uint8, hi=256):
    return rng.integers(0, hi, size=shape).astype(dtype)


def _images(folder: Path) -> dict[str, np.ndarray]:
    """Write one file per kind; return file name -> the (Y, X) / (C, Y, X) array we expect back."""
    rng = np.random.default_rng(7)
    want: dict[str, np.ndarray] = {}
    grey = _noise(rng, (37, 53))
    Image.fromarray(grey).save(folder / "grey8.png")
    want["grey8.png"] = grey
    rgb = _noise(rng, (29, 31, 3))
    Image.fromarray(rgb).save(folder / "rgb.png")
    want["rgb.png"] = np.moveaxis(rgb, -1, 0)
    rgba = _noise(rng, (17, 23, 4))
    Image.fromarray(rgba, "RGBA").save(folder / "rgba.png")
    want["rgba.png"] = np.moveaxis(rgba, -1, 0)
    pal = Image.fromarray(_noise(rng, (21, 19), hi=16)).convert("P")
    pal.putpalette([int(v) for v in rng.integers(0, 256, 16 * 3)] + [0] * (240 * 3))
    pal.save(folder / "palette.png")
    want["palette.png"] = np.moveaxis(
        np.asarray(Image.open(folder / "palette.png").convert("RGB")), -1, 0
    )
    pal.save(folder / "palette_transparent.png", transparency=3)
    want["palette_transparent.png"] = np.moveaxis(
        np.asarray(Image.open(folder / "palette_transparent.png").convert("RGBA")), -1, 0
    )
    g16 = _noise(rng, (33, 27), np.uint16, 65536)
    Image.fromarray(g16).save(folder / "grey16.png")
    assert np.array_equal(np.asarray(Image.open(folder / "grey16.png")), g16)  # a real 16-bit PNG
    want["grey16.png"] = g16
    t16 = _noise(rng, (41, 39), np.uint16, 65536)
    tifffile.imwrite(folder / "grey16_tiff.tif", t16)
    want["grey16_tiff.tif"] = t16
    trgb = _noise(rng, (15, 18, 3))
    tifffile.imwrite(folder / "rgb_tiff.tif", trgb, photometric="rgb")
    want["rgb_tiff.tif"] = np.moveaxis(trgb, -1, 0)
    for name, arr in (
        ("grey_jpeg.jpg", _noise(rng, (40, 40))),
        ("rgb_jpeg.jpg", _noise(rng, (24, 32, 3))),
    ):
        Image.fromarray(arr).save(folder / name, quality=80)
        dec = np.asarray(Image.open(folder / name))
        want[name] = np.moveaxis(dec, -1, 0) if dec.ndim == 3 else dec
    bmp = _noise(rng, (12, 14, 3))
    Image.fromarray(bmp).save(folder / "rgb_bmp.bmp")
    want["rgb_bmp.bmp"] = np.moveaxis(bmp, -1, 0)
    return want


def test_every_image_kind_comes_back_pixel_exact(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    want = _images(src)
    result = pack(Request([src], sets=CONSTANTS), tmp_path / "pkg", options=PackOptions(workers=2))
    assert result.images == len(want)
    got = {}
    with open_package(tmp_path / "pkg") as pkg:
        for arr, meta in pkg:
            got[meta["image-filename"]] = arr
            if arr.ndim == 3:
                assert [c["name"] for c in meta["image-channels"]][:3] == ["red", "green", "blue"]
    assert set(got) == set(want)
    for name, arr in want.items():
        assert got[name].dtype == arr.dtype, name
        assert got[name].shape == arr.shape, name
        assert np.array_equal(got[name], arr), name


def test_multi_page_tiff_packs_one_image_per_page(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    pages = np.random.default_rng(3).integers(0, 65536, (4, 25, 30)).astype(np.uint16)
    with tifffile.TiffWriter(src / "stack.tif") as tw:  # four pages
        for page in pages:
            tw.write(page, photometric="minisblack")
    (scan,) = generic.scan(src, __import__("aqqua_packer.progress").progress.null_task())
    ref = scan.images[0]
    scan.images = [
        ImageRef(name=f"stack.tif#{i + 1}", path=ref.path, page=i, size=ref.size // 4)
        for i in range(4)
    ]
    mapped = apply_mapping([scan], parse_cli_mapping([], CONSTANTS))
    write_package(mapped, tmp_path / "pkg", PackOptions(workers=1))
    got = {m["image-filename"]: a for a, m in open_package(tmp_path / "pkg")}
    assert sorted(got) == [f"stack.tif#{i}" for i in range(1, 5)]
    for i in range(4):
        assert np.array_equal(got[f"stack.tif#{i + 1}"], pages[i])


def test_identical_pixels_in_two_files_get_two_stable_uuids(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    arr = np.random.default_rng(1).integers(0, 256, (20, 20)).astype(np.uint8)
    for name in ("a.png", "b.png", "c.png"):
        Image.fromarray(arr).save(src / name)
    uuids = []
    for run in ("one", "two"):
        pack(Request([src], sets=CONSTANTS), tmp_path / run, options=PackOptions(workers=1))
        uuids.append(
            list(open_package(tmp_path / run).meta.sort_values("image-filename")["image-uuid"])
        )
    assert len(set(uuids[0])) == 3
    assert uuids[0] == uuids[1]


@pytest.mark.parametrize("shape", [(1, 1), (3, 1, 1), (5, 7)])
def test_tiny_and_constant_images_round_trip(tmp_path, shape):
    src = tmp_path / "src"
    src.mkdir()
    arr = np.full(shape, 9, np.uint8)
    img = Image.fromarray(np.moveaxis(arr, 0, -1) if len(shape) == 3 else arr)
    img.save(src / "x.png")
    pack(Request([src], sets=CONSTANTS), tmp_path / "pkg", options=PackOptions(workers=1))
    ((got, _meta),) = list(open_package(tmp_path / "pkg"))
    assert np.array_equal(got, arr)
