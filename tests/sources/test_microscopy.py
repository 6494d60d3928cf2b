"""Microscope images: pixel size and time come from the image headers (OME-XML, ImageJ, TIFF
resolution, EXIF) into prefixed columns, 16-bit pixels stay 16-bit, a table joins by file name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tifffile
from PIL import Image

from aqqua_packer.mapping import apply_mapping, parse_cli_mapping
from aqqua_packer.progress import null_task
from aqqua_packer.sources import microscopy
from aqqua_packer.sources.pixels import load_image
from aqqua_packer.sources.registry import scan_path

OME = "s_1_t_1_c_1_z_1.ome.tiff"


@pytest.fixture
def ome_dir(shared_fixtures):
    return shared_fixtures / "microscopy"


def test_the_ome_tiff_is_recognised_as_microscopy(ome_dir):
    assert microscopy.detect(ome_dir).confidence >= 0.6
    assert [s.kind for s in scan_path(ome_dir)] == ["microscopy"]


def test_one_16_bit_image_with_its_header_values_as_columns(ome_dir):
    (scan,) = microscopy.scan(ome_dir, null_task())
    assert len(scan.images) == 1
    arr = load_image(scan.images[0]).array
    assert arr.dtype == np.uint16 and arr.shape == (325, 475)
    assert np.array_equal(arr, np.asarray(Image.open(ome_dir / OME)))
    row = scan.rows.iloc[scan.images[0].row]
    assert row["ome:PhysicalSizeX"] == "1.0833333333333333" and row["ome:PhysicalSizeXUnit"] == "µm"
    assert row["ome:AcquisitionDate"] == "2019-06-27T18:33:40.619"
    assert row["microscopy:bits"] == "16"


def test_suggested_mapping_gives_the_pixel_size_the_microscope_wrote(ome_dir):
    scans = microscopy.scan(ome_dir, null_task())
    fields = scans[0].suggested["fields"]
    assert fields["pixel_size"]["column"] == "ome:PhysicalSizeX"
    assert any(p.kind == "needs_timezone" and p.file == OME for p in scans[0].problems)
    given = parse_cli_mapping(
        [], ["latitude=47.5", "longitude=8.7", "depth=0.5", "timezone=+02:00"]
    )
    mapped = apply_mapping(scans, given)
    assert mapped.ready.all()
    assert mapped.converted["image-pixel-size-micrometers"].round(4).iloc[0] == 1.0833
    assert mapped.converted["image-datetime"].iloc[0] == pd.Timestamp("2019-06-27T16:33:40.619Z")


def test_imagej_and_plain_tiff_resolutions_give_pixel_sizes(tmp_path):
    arr = np.arange(64 * 48, dtype=np.uint16).reshape(48, 64)
    tifffile.imwrite(
        tmp_path / "ij.tif",
        arr,
        imagej=True,
        resolution=(1 / 0.25, 1 / 0.25),
        metadata={"unit": "micron"},
    )
    tifffile.imwrite(
        tmp_path / "cm.tif", arr, resolution=(20000, 20000), resolutionunit="CENTIMETER"
    )
    tifffile.imwrite(tmp_path / "screen.tif", arr, resolution=(72, 72), resolutionunit="INCH")
    (scan,) = microscopy.scan(tmp_path, null_task())
    by_file = {r["file"]: r for _, r in scan.rows.iterrows()}
    assert by_file["ij.tif"]["microscopy:pixel_size_um"] == "0.25"
    assert by_file["cm.tif"]["microscopy:pixel_size_um"] == "0.5"
    assert by_file["screen.tif"]["microscopy:pixel_size_um"] == ""
    assert "software default" in by_file["screen.tif"]["microscopy:pixel_size_source"]


def test_a_table_beside_the_images_is_joined_by_file_name(tmp_path):
    arr = np.zeros((10, 10), dtype=np.uint8)
    for n in ("a", "b"):
        tifffile.imwrite(
            tmp_path / f"{n}.tif", arr, resolution=(10000, 10000), resolutionunit="CENTIMETER"
        )
    (tmp_path / "meta.csv").write_text(
        "image,lat,lon\nb.tif,10.5,20.5\na.tif,11.5,21.5\nc.tif,0,0\n"
    )
    (scan,) = microscopy.scan(tmp_path, null_task())
    rows = {r["file"]: r for _, r in scan.rows.iterrows()}
    assert rows["a.tif"]["lat"] == "11.5" and rows["a.tif"]["__row__"] == 3
    assert rows["b.tif"]["lat"] == "10.5" and rows["b.tif"]["__table__"] == "meta.csv"
    (orphan,) = [p for p in scan.problems if p.kind == "row_without_image"]
    assert orphan.row == 4 and orphan.value == "c.tif"


def test_exif_time_and_offset_of_a_jpeg_become_datetime_and_timezone(tmp_path):
    im = Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2021:07:01 12:00:00"
    exif.get_ifd(0x8769)[0x9011] = "+02:00"
    im.save(tmp_path / "x.jpg", exif=exif)
    (scan,) = microscopy.scan(tmp_path, null_task())
    fields = scan.suggested["fields"]
    assert fields["datetime"]["column"] == "exif:DateTimeOriginal"
    assert fields["timezone"]["constant"] == "+02:00"
    mapped = apply_mapping(
        [scan], parse_cli_mapping([], ["latitude=1", "longitude=1", "depth=1", "pixel_size=2"])
    )
    assert mapped.converted["image-datetime"].iloc[0] == pd.Timestamp("2021-07-01T10:00:00Z")


def test_a_multi_page_stack_says_only_the_first_page_is_packed(tmp_path):
    tifffile.imwrite(
        tmp_path / "stack.tif",
        np.zeros((3, 8, 8), dtype=np.uint16),
        imagej=True,
        metadata={"unit": "micron"},
    )
    (scan,) = microscopy.scan(tmp_path, null_task())
    (p,) = [p for p in scan.problems if p.kind == "extra_pages"]
    assert p.file == "stack.tif" and "3 pages" in p.message
