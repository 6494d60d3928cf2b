"""Real instrument outputs go in, and come back out of the package unchanged (../shared/fixtures)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from pkgtools import cli

from aqqua_packer import open_package

ZOOSCAN_MAPS = [
    "latitude=object_lat",
    "longitude=object_lon",
    "date=object_date",
    "time=object_time",
    "depth_min=object_depth_min",
    "depth_max=object_depth_max",
    "pixel_size=process_pixel",
    "image=img_file_name",
]


def test_zooscan_jpegs_and_their_ecotaxa_rows_are_packed_as_written(shared_fixtures, tmp_path):
    src = shared_fixtures / "zooscan" / "m106_mn01_n1_sml"
    out = tmp_path / "m106"
    args = ["pack", str(src), "--out", str(out), "-q", "--name", "m106", "--sensor", "ZooScan"]
    args += ["--accept", "ship_speed"]  # row 409 is off Tasmania, the rest off Cape Verde
    r = cli(*args, *[a for m in ZOOSCAN_MAPS for a in ("--map", m)])
    assert r.returncode == 0, r.stderr
    assert cli("verify", str(out)).returncode == 0
    pkg = open_package(out)
    assert len(pkg) == 5
    assert pkg.image_set["meta"]["image-set-sensor"] == "ZooScan"
    for arr, meta in pkg:
        decoded = np.asarray(Image.open(src / meta["image-filename"]))
        assert np.array_equal(arr, decoded if decoded.ndim == 2 else np.moveaxis(decoded, -1, 0))
        assert meta["image-pixel-size-micrometers"] == pytest.approx(10.6)
        assert (meta["image-depth-min-meters"], meta["image-depth-max-meters"]) == (600, 1000)
        assert meta["image-altitude-meters"] == -800
    first = pkg.meta.set_index("image-filename").loc["m106_mn01_n1_sml_409.jpg"]
    assert first["image-latitude"] == pytest.approx(-44.7254, abs=1e-3)
    assert first["image-longitude"] == pytest.approx(145.535, abs=1e-3)
    raw = pkg.raw
    assert set(raw["source-table"].str.endswith("ecotaxa_m106_mn01_n1_sml.tsv")) == {True}
    assert "object_time" in raw.columns and set(raw["object_time"]) == {"420"}  # text as written


def test_16_bit_microscopy_survives_unchanged(shared_fixtures, tmp_path):
    src = shared_fixtures / "microscopy"
    out = tmp_path / "mic"
    sets = [
        "datetime=2020-01-01T00:00:00Z",
        "latitude=50.1",
        "longitude=8.6",
        "altitude=110",
        "pixel_size=1.0833",
    ]
    r = cli("pack", str(src), "--out", str(out), "-q", *[a for m in sets for a in ("--set", m)])
    assert r.returncode == 0, r.stderr
    ((arr, meta),) = list(open_package(out))
    want = np.asarray(
        Image.open(src / "s_1_t_1_c_1_z_1.ome.tiff")
    )  # LZW: Pillow decodes it natively
    assert arr.dtype == np.uint16
    assert np.array_equal(arr, np.squeeze(want))
    assert meta["image-pixel-size-micrometers"] == pytest.approx(1.0833)
