"""IFCB on a real IFCBacquire 2.0 bin (../shared/fixtures-real/ifcb_v2_nogps: GPSFeed 0, 7 ROIs).

The field sheet (docs/instruments.md, IFCB): time from the bin name (UTC), position from the
header's ``gpsLatitude``/``gpsLongitude`` when present and otherwise asked of the user (never
0, 0), no depth and no pixel size in the files.  ROI PNGs exported into class folders
(``png/<class>/<bin>_<target>.png``) are copies when the bin's ``.roi`` holds the ROI, and the
only copy (offered, with its class as label) when it does not; the PNGs are cut here from the
real ``.roi``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from real_samples import checked, columns_used, real

from aqqua_packer.sources.ifcb import bin_time
from aqqua_packer.sources.pixels import load_image
from aqqua_packer.sources.registry import scan_path

BIN = "D20220522T000439_IFCB134"
WHEN = pd.Timestamp("2022-05-22 00:04:39", tz="UTC")


def test_a_bin_without_gps_gives_time_and_asks_for_the_position():
    m, c = checked(real("ifcb_v2_nogps"))
    assert len(c) == 7 and not m.ready.any()
    assert (c["image-datetime"] == WHEN).all()
    assert columns_used(m).get("latitude") is None and columns_used(m).get("longitude") is None
    assert c["image-latitude"].isna().all() and c["image-longitude"].isna().all()  # never 0, 0
    assert {p.field for p in m.problems if p.kind == "not_mapped"} >= {"latitude", "longitude"}


def with_gps(folder: Path, name: str, lat: str, lon: str, *, roi: bool = True) -> None:
    """The real bin under another name, its header carrying a GPS fix (as with GPSFeed on)."""
    src = real("ifcb_v2_nogps")
    hdr = (
        (src / f"{BIN}.hdr")
        .read_text()
        .replace("GPSFeed: 0", f"GPSFeed: 1\ngpsLatitude: {lat}\ngpsLongitude: {lon}")
    )
    (folder / f"{name}.hdr").write_text(hdr)
    shutil.copy2(src / f"{BIN}.adc", folder / f"{name}.adc")
    if roi:
        shutil.copy2(src / f"{BIN}.roi", folder / f"{name}.roi")


def test_the_headers_gps_position_is_used_when_present(tmp_path):
    with_gps(tmp_path, "D20230810T113059_IFCB134", "41.5248", "-70.6715")
    m, c = checked(tmp_path, sets=("depth=4", "pixel_size=3.4", "pixel_size.unit=px/um"))
    assert len(c) == 7 and m.ready.all()
    assert (c["image-latitude"] == 41.5248).all() and (c["image-longitude"] == -70.6715).all()
    assert (c["image-datetime"] == pd.Timestamp("2023-08-10 11:30:59", tz="UTC")).all()


def roi_arrays() -> dict[int, np.ndarray]:
    """Target number -> pixels of every ROI of the real bin, cut by the reader."""
    [s] = scan_path(real("ifcb_v2_nogps"))
    return {int(im.name.rsplit("_", 1)[1]): load_image(im).array for im in s.images}


@pytest.fixture
def data_folder(tmp_path) -> Path:
    """An IFCB data folder as a lab keeps it: bins in D2022/D20220522/, and ROI PNGs exported into
    class folders: copies of the bin that still has its .roi, the only copy for a bin whose .roi is
    gone (its .hdr with a GPS fix and its .adc kept), and PNGs of a bin of which nothing else is left."""
    day = tmp_path / "D2022" / "D20220522"
    day.mkdir(parents=True)
    for ext in (".hdr", ".adc", ".roi"):
        shutil.copy2(real("ifcb_v2_nogps") / f"{BIN}{ext}", day / f"{BIN}{ext}")
    gone = "D20230810T113059_IFCB134"
    (tmp_path / "D2023" / "D20230810").mkdir(parents=True)
    with_gps(tmp_path / "D2023" / "D20230810", gone, "41.5248", "-70.6715", roi=False)
    rois = roi_arrays()
    assert len(rois) == 7
    first, second, *rest = sorted(rois)
    png = tmp_path / "png"
    for cls, name, target in (
        ("Cryptomonadales", BIN, first),  # a copy of a ROI the .roi holds
        ("Cryptomonadales", gone, first),  # the only copy: the .roi of this bin is gone
        ("Diatoms", gone, second),
        ("unclassified", "D20240101T010203_IFCB134", 42),  # nothing left of this bin but this PNG
    ):
        (png / cls).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rois[target if target in rois else rest[0]]).save(
            png / cls / f"{name}_{target:05d}.png"
        )
    return tmp_path


def test_a_png_copy_of_a_roi_in_its_bins_roi_file_is_set_aside_and_named(data_folder):
    scans = scan_path(data_folder)
    [s] = scans
    copies = [a for a in s.set_aside if a.path.endswith(f"{BIN}_00002.png")]
    assert len(copies) == 1 and copies[0].kept == f"{BIN}_00002"
    assert "copy" in copies[0].reason and f"{BIN}.roi" in copies[0].reason
    roi_images = [im for im in s.images if im.name.startswith(BIN)]
    assert len(roi_images) == 7 and all(im.path.endswith(".roi") for im in roi_images)


def test_a_png_whose_bin_lost_its_roi_is_offered_with_name_time_position_and_class(data_folder):
    m, c = checked(data_folder, sets=("depth=4", "pixel_size=3.4", "pixel_size.unit=px/um"))
    gone = "D20230810T113059_IFCB134"
    for target, cls in (("00002", "Cryptomonadales"), ("00003", "Diatoms")):
        r = c.loc[f"{gone}_{target}"]
        assert r["image-datetime"] == pd.Timestamp("2023-08-10 11:30:59", tz="UTC")
        assert (r["image-latitude"], r["image-longitude"]) == (41.5248, -70.6715)
        assert r["image-label"] == cls
        assert r["image-object-id"] == str(int(target))
        assert r["image-sample-id"] == gone
    # the ROI of the kept bin takes the class of its exported copy
    assert c.loc[f"{BIN}_00002", "image-label"] == "Cryptomonadales"
    # the PNG of a bin with no files at all: time and ROI from its name, position asked for
    lone = c.loc["D20240101T010203_IFCB134_00042"]
    assert lone["image-datetime"] == pd.Timestamp("2024-01-01 01:02:03", tz="UTC")
    assert lone["image-label"] == "unclassified" and lone["image-object-id"] == "42"
    assert pd.isna(lone["image-latitude"])
    assert not m.ready[list(c.index).index("D20240101T010203_IFCB134_00042")]
    assert len(c) == 7 + 2 + 1
    assert bin_time(lone["image-sample-id"]) is not None


def test_the_pixels_of_an_offered_png_are_the_rois(data_folder):
    [s] = scan_path(data_folder)
    rois = roi_arrays()
    im = next(i for i in s.images if i.name == "D20230810T113059_IFCB134_00003")
    assert np.array_equal(load_image(im).array, rois[3])


def test_a_folder_of_exported_roi_pngs_alone_is_read_as_ifcb(data_folder):
    [s] = scan_path(data_folder / "png")
    assert s.kind == "ifcb" and len(s.images) == 4  # no .roi here: every PNG is the only copy
    assert set(s.rows["ifcb:class_folder"]) == {"Cryptomonadales", "Diatoms", "unclassified"}
