"""`aqqua-packer pack` then `aqqua-packer verify` on every EcoTaxa-family source: the real UVP6 and
ZooScan fixtures, and the faithful PlanktoScope, ZooProcess and UVP5 builds (see their test files).
Real CLI, real LMDB/Parquet package, one worker to stay light on the shared machine."""

from __future__ import annotations

import numpy as np
import pytest
from ecotaxa_builders import planktoscope_data, zooprocess_project
from uvp5_generator import uvp5_project

from aqqua_packer.cli import main
from aqqua_packer.package.read import open_package
from aqqua_packer.sources.pixels import load_image
from aqqua_packer.sources.registry import scan_path

pytestmark = pytest.mark.slow


def pack_and_verify(src, out, *extra: str) -> None:
    assert main(["pack", str(src), "--out", str(out), "--workers", "1", *extra]) == 0
    assert main(["verify", str(out)]) == 0


def test_uvp6_fixture_packs_15_images_that_verify(shared_fixtures, tmp_path):
    src = shared_fixtures / "uvp6" / "b_da_19_Images.zip"
    pack_and_verify(src, tmp_path / "pkg")
    with open_package(tmp_path / "pkg") as pkg:
        assert len(pkg) == 15
        meta = pkg.meta
        assert meta["image-pixel-size-micrometers"].eq(73.0).all()
        assert meta["image-latitude"].eq(43.0).all()
        raw = pkg.raw
        assert raw["object_lat"].eq("43°0 0").all()  # the text as UVPapp wrote it
        [s] = scan_path(src)
        by_name = {im.name: im for im in s.images}
        for arr, rec in pkg:  # pixels survive unchanged
            assert np.array_equal(arr, load_image(by_name[rec["image-filename"]]).array)


def test_zooscan_fixture_packs_5_images_that_verify(shared_fixtures, tmp_path):
    # row 409 is off Tasmania at the instant the others are off Cape Verde: accepted as written
    pkg_dir = tmp_path / "pkg"
    pack_and_verify(
        shared_fixtures / "zooscan" / "m106_mn01_n1_sml", pkg_dir, "--accept", "ship_speed"
    )
    with open_package(tmp_path / "pkg") as pkg:
        assert len(pkg) == 5
        m = pkg.meta.set_index("image-filename")
        assert m.loc["m106_mn01_n1_sml_409.jpg", "image-latitude"] == pytest.approx(
            -44.7254, abs=1e-4
        )
        assert pkg.meta["image-pixel-size-micrometers"].eq(10.6).all()


def test_planktoscope_folder_packs_each_crop_once(tmp_path):
    src = planktoscope_data(tmp_path / "data")
    pack_and_verify(src, tmp_path / "pkg", "--set", "timezone=+02:00")
    with open_package(tmp_path / "pkg") as pkg:
        assert len(pkg) == 3
        assert pkg.raw["hdr:acq_local_datetime"].eq("2024-05-15T11:02:03").all()


def test_planktoscope_with_position_0_0_is_not_packed(tmp_path, capsys):
    src = planktoscope_data(tmp_path / "data", lat=0.0, lon=0.0)
    assert (
        main(
            [
                "pack",
                str(src),
                "--out",
                str(tmp_path / "pkg"),
                "--workers",
                "1",
                "--set",
                "timezone=UTC",
            ]
        )
        != 0
    )
    err = capsys.readouterr().err
    assert "nothing was packed" in err and "value '0, 0'" in err and "ecotaxa_A1.tsv, row 3" in err
    assert not (tmp_path / "pkg").exists() or not list((tmp_path / "pkg").glob("*.lmdb"))


def test_zooprocess_project_packs_and_verifies(tmp_path):
    pack_and_verify(zooprocess_project(tmp_path / "Zooscan_m106"), tmp_path / "pkg")
    with open_package(tmp_path / "pkg") as pkg:
        assert len(pkg) == 5
        assert pkg.raw["hdr:longitude"].eq("-145.3211").all()
        assert pkg.meta["image-longitude"].round(3).eq(145.535).all()


def test_uvp5_project_packs_and_verifies(tmp_path):
    pack_and_verify(uvp5_project(tmp_path / "uvp5_sn002zd_omer_2"), tmp_path / "pkg")
    with open_package(tmp_path / "pkg") as pkg:
        assert len(pkg) == 4
        assert pkg.meta["image-pixel-size-micrometers"].eq(174.0).all()
