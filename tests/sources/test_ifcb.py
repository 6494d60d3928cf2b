"""IFCB bins are read as the instrument wrote them: images cut from the .roi by the .adc, time from
the bin name, orientation as in pyifcb, and every broken ROI named by file and row."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aqqua_packer.mapping import Mapping, apply_mapping, parse_cli_mapping
from aqqua_packer.progress import null_task
from aqqua_packer.sources import ifcb
from aqqua_packer.sources.pixels import load_image
from aqqua_packer.sources.registry import scan_path

BIN = "D20130526T095207_IFCB013"
# pyifcb's own test expectations for this bin (ifcb/data/tests/fileset_info.py): the targets that
# carry an image, and target 99's shape and top-left 5x5 pixels.
PYIFCB_TARGETS = [7, 11, 13, 21, 32, 33, 47, 49, 54, 61, 66, 68, 73, 78, 80, 92, 99, 102, 114]
PYIFCB_99 = np.array(
    [
        [172, 168, 172, 166, 171],
        [168, 170, 172, 171, 170],
        [167, 174, 171, 175, 168],
        [173, 171, 173, 170, 171],
        [176, 169, 176, 173, 172],
    ],
    dtype=np.uint8,
)


@pytest.fixture
def ifcb_dir(shared_fixtures) -> Path:
    return shared_fixtures / "ifcb"


@pytest.fixture
def bin_copy(ifcb_dir, tmp_path) -> Path:
    d = tmp_path / "bin"
    shutil.copytree(ifcb_dir, d)
    for f in d.iterdir():
        f.chmod(0o644)
    return d


def test_the_fixture_is_recognised_as_an_ifcb_bin(ifcb_dir):
    det = ifcb.detect(ifcb_dir)
    assert det.confidence >= 0.9 and BIN in det.reason
    scans = scan_path(ifcb_dir)
    assert [s.kind for s in scans] == ["ifcb"]
    assert scans[0].sensor == "IFCB013"


def test_nineteen_images_are_found_at_pyifcbs_target_numbers(ifcb_dir):
    (scan,) = ifcb.scan(ifcb_dir, null_task())
    assert len(scan.images) == 19
    assert [int(im.name.rsplit("_", 1)[1]) for im in scan.images] == PYIFCB_TARGETS
    assert len(scan.rows) == 118, "every trigger of the .adc is a row, with or without image"
    assert scan.problems == []


def test_roi_orientation_and_pixels_match_pyifcb(ifcb_dir):
    (scan,) = ifcb.scan(ifcb_dir, null_task())
    im = next(i for i in scan.images if i.name == f"{BIN}_00099")
    arr = load_image(im).array
    assert arr.shape == (34, 64)
    assert np.array_equal(arr[:5, :5], PYIFCB_99)
    row = scan.rows.iloc[im.row]
    assert (row["ROIwidth"], row["ROIheight"], row["start_byte"]) == ("64", "34", "77472")


def test_every_image_is_8_bit_grey_and_fits_the_roi_file(ifcb_dir):
    (scan,) = ifcb.scan(ifcb_dir, null_task())
    for im in scan.images:
        arr = load_image(im).array
        assert arr.dtype == np.uint8 and arr.ndim == 2
        assert arr.shape == (im.raw[2], im.raw[1])


def test_time_from_the_bin_name_and_user_given_position_convert_to_what_the_instrument_wrote(
    ifcb_dir,
):
    scans = ifcb.scan(ifcb_dir, null_task())
    user = [
        "latitude=41.325",
        "longitude=-70.5667",
        "depth=4",
        "pixel_size=3.4",
        "pixel_size.unit=px/um",
    ]
    given = parse_cli_mapping([], user)
    mapped = apply_mapping(scans, given)
    assert mapped.ready.all() and len(mapped.items) == 19
    times = mapped.converted["image-datetime"].unique()
    assert list(times) == [pd.Timestamp("2013-05-26T09:52:07Z")]
    assert mapped.converted["image-altitude-meters"].eq(-4).all()
    assert mapped.converted["image-pixel-size-micrometers"].round(4).eq(round(1 / 3.4, 4)).all()
    hdr_time = scans[0].rows["hdr:sampleTime"].iloc[0]
    assert hdr_time == "2013-05-26T09:52:07Z"


def test_pixel_size_is_offered_to_confirm_with_a_reason_never_assumed(ifcb_dir):
    scans = ifcb.scan(ifcb_dir, null_task())
    assert "pixel_size" not in scans[0].suggested["fields"]
    px = scans[0].suggested["to_confirm"]["pixel_size"]
    assert px["constant"] == "3.4" and px["unit"] == "px/um"
    assert px["confidence"] < 0.5 and "do not record" in px["reason"]
    assert "latitude" not in scans[0].suggested["fields"], "this old header has no GPS"
    given = parse_cli_mapping([], ["latitude=41.325", "longitude=-70.5667", "depth=4"])
    mapped = apply_mapping(scans, given)
    assert not mapped.ready.any(), "without the user's pixel size nothing is ready"


def test_gps_in_a_newer_header_is_suggested_as_position(bin_copy):
    hdr = bin_copy / f"{BIN}.hdr"
    hdr.write_text(hdr.read_text() + "gpsLatitude: 41.3250\ngpsLongitude: -70.5667\n")
    (scan,) = ifcb.scan(bin_copy, null_task())
    assert scan.suggested["fields"]["latitude"]["column"] == "hdr:gpsLatitude"
    given = parse_cli_mapping([], ["depth=4", "pixel_size=3.4", "pixel_size.unit=px/um"])
    mapped = apply_mapping([scan], given)
    assert mapped.ready.all()
    assert mapped.converted["image-latitude"].eq(41.325).all()
    assert mapped.converted["image-longitude"].eq(-70.5667).all()


def test_a_truncated_roi_names_the_adc_row_of_each_lost_image_and_the_rest_still_packs(bin_copy):
    roi = bin_copy / f"{BIN}.roi"
    data = roi.read_bytes()
    roi.write_bytes(data[: 77472 + 100])  # cut inside target 99
    (scan,) = ifcb.scan(bin_copy, null_task())
    assert len(scan.images) == 16, "the 16 images before the cut are still read"
    assert [p.row for p in scan.problems] == [99, 102, 114]
    p = scan.problems[0]
    assert p.file == f"{BIN}.adc" and p.field == "start_byte"
    assert "truncated" in p.message and f"{BIN}.roi" in p.message and "00099" in p.message


def test_an_adc_row_pointing_past_the_end_of_the_roi_is_named(bin_copy):
    adc = bin_copy / f"{BIN}.adc"
    lines = adc.read_text().splitlines(keepends=True)
    cells = lines[6].split(",")  # target 7, the first with an image
    cells[17] = "999999"
    lines[6] = ",".join(cells)
    adc.write_text("".join(lines))
    (scan,) = ifcb.scan(bin_copy, null_task())
    assert len(scan.images) == 18
    (p,) = scan.problems
    assert (p.file, p.row, p.field, p.value) == (f"{BIN}.adc", 7, "start_byte", "999999")
    assert "past the end" in p.message and "98472 bytes" in p.message
    assert str(p).startswith(f"{BIN}.adc, row 7, field start_byte")


def test_a_non_numeric_width_is_a_problem_naming_the_row(bin_copy):
    adc = bin_copy / f"{BIN}.adc"
    lines = adc.read_text().splitlines(keepends=True)
    cells = lines[10].split(",")  # target 11
    cells[15] = "wide"
    lines[10] = ",".join(cells)
    adc.write_text("".join(lines))
    (scan,) = ifcb.scan(bin_copy, null_task())
    assert len(scan.images) == 18
    (p,) = scan.problems
    assert (p.row, p.field, p.value) == (11, "ROIwidth", "wide")


def test_a_missing_roi_file_is_one_problem_for_the_bin(bin_copy):
    (bin_copy / f"{BIN}.roi").unlink()
    (scan,) = ifcb.scan(bin_copy, null_task())
    assert scan.images == []
    assert any(".roi file of bin" in p.message and p.file == f"{BIN}.adc" for p in scan.problems)


def _write_old_bin(folder: Path, name: str, sizes: list[tuple[int, int]]) -> list[np.ndarray]:
    """An IFCB1-6 style bin: quoted header, 15-column .adc with a trailing comma, no column names."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.hdr").write_text(
        '"Imaging FlowCytobot Acquisition Software version 1.0; October 2005"\n'
        '"SyringeStatus =  0"\n'
        '"Temp Humidity BinarizeThresh PMT1hv(ssc) PMT2hv(chl) BlobSizeThresh"\n'
        '" 11.47"," 32.16"," 30"," .675"," .6"," 10"\n'
    )
    rng = np.random.default_rng(0)
    arrays, lines, offset, roi = [], [], 1, bytearray(b"\0")
    for i, (w, h) in enumerate(sizes, start=1):
        arr = rng.integers(0, 255, (h, w), dtype=np.uint8)
        arrays.append(arr)
        lines.append(f"{i},.31,.06,-.61,-.17,-3.6,-.29,0,.25,202,673,{w},{h},{offset},-.27,\n")
        roi += arr.tobytes()
        offset += w * h
    lines.append(
        f"{len(sizes) + 1},1.3,.05,-.49,-.11,-3.8,-.27,1.2,1.25,-11,-11,0,0,{offset},-.41,\n"
    )
    (folder / f"{name}.adc").write_text("".join(lines))
    (folder / f"{name}.roi").write_bytes(bytes(roi))
    return arrays


def test_old_bins_take_their_time_from_the_day_of_year_and_use_the_v1_layout(tmp_path):
    name = "IFCB5_2012_028_081515"
    arrays = _write_old_bin(tmp_path / "data" / "2012" / name, name, [(96, 45), (30, 20)])
    assert ifcb.detect(tmp_path).confidence >= 0.9
    (scan,) = ifcb.scan(tmp_path, null_task())
    assert scan.sensor == "IFCB5" and len(scan.images) == 2
    for im, arr in zip(scan.images, arrays, strict=True):
        assert np.array_equal(load_image(im).array, arr)
    assert scan.rows["ifcb:datetime"].iloc[0] == "2012-01-28T08:15:15Z"
    assert scan.rows["hdr:Temp"].iloc[0] == "11.47"
    mapped = apply_mapping([scan], Mapping())
    assert mapped.converted["image-datetime"].iloc[0] == pd.Timestamp("2012-01-28T08:15:15Z")


def test_two_instruments_in_one_folder_are_two_parts(tmp_path, ifcb_dir):
    shutil.copytree(ifcb_dir, tmp_path / "ship")
    name = "IFCB5_2012_028_081515"
    _write_old_bin(tmp_path / "ship", name, [(10, 10)])
    scans = ifcb.scan(tmp_path / "ship", null_task())
    assert [(s.sensor, len(s.images)) for s in scans] == [("IFCB013", 19), ("IFCB5", 1)]


def test_a_folder_without_bins_is_not_ifcb(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    assert ifcb.detect(tmp_path).confidence == 0
