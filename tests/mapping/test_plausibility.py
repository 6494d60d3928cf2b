"""Plausibility rules (aqqua_packer/mapping/plausibility.py) on generated tables: each rule flags
its case and stays silent on the ordinary one next to it; impossible problems hold images back
for good, suspicious ones until accepted."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from mapping_builders import image_folder

from aqqua_packer.mapping import Mapping, apply_mapping, parse_cli_mapping
from aqqua_packer.mapping.plausibility import LEVEL, parse_accept
from aqqua_packer.problems import UserError
from aqqua_packer.sources.registry import scan_path

HEADER = ["file", "lat", "lon", "when", "depth", "pixel", "volume"]
MAPS = [
    "image=file",
    "latitude=lat",
    "longitude=lon",
    "datetime=when",
    "depth=depth",
    "pixel_size=pixel",
    "volume_sampled=volume",
]
# Off Villefranche-sur-Mer, in the sea.
SEA = ("43.68", "7.32")


def row(i: int, lat=SEA[0], lon=SEA[1], when=None, pixel="73", volume="0.65", depth="10"):
    when = when or f"2021-{1 + i // 28:02d}-{1 + i % 28:02d}T10:00:00Z"  # a day apart
    return [f"im{i}.png", lat, lon, when, depth, pixel, volume]


def mapped(tmp_path, kind: str, rows: list[list[str]], *sets: str, accept=()):
    folder = image_folder(tmp_path / "src", HEADER, rows)
    [scan] = scan_path(folder)
    scan = dataclasses.replace(scan, kind=kind)
    given = parse_cli_mapping(MAPS, ["timezone=UTC", *sets])
    given = given.merged(Mapping(accepted=[str(a) for a in parse_accept(accept)]))
    return apply_mapping([scan], given)


def flagged(m, kind: str) -> list[int]:
    """The table rows (as a person counts them) a kind flags."""
    return sorted(p.row for p in m.problems if p.kind == kind)


# --- impossible -----------------------------------------------------------------------------------
def test_planktoscope_minus_90_0_is_an_impossible_factory_default(tmp_path):
    rows = [
        row(0, "-90.0000", "0.0000", pixel="1.0", volume="0.002"),
        row(1, pixel="1.0", volume="0.002"),
    ]
    m = mapped(tmp_path, "planktoscope", rows)
    assert flagged(m, "factory_default") == [2]
    assert LEVEL["factory_default"] == "impossible"
    assert m.ready.tolist() == [False, True]
    assert m.fields["latitude"].kind[0] == "factory_default"


def test_a_position_inland_is_impossible_for_sea_water_but_coasts_and_harbours_are_not(tmp_path):
    rows = [
        row(0, "46.0", "2.0"),  # central France
        row(1, "48.383", "-4.495"),  # Brest harbour
        row(2, "43.697", "7.305"),  # Villefranche bay, 300 m from the quay
        row(3, "54.18", "7.89"),  # Heligoland
        row(4, "-33.86", "151.21", "2023-01-01T00:00:00Z"),  # Sydney harbour, a later cruise
    ]
    m = mapped(tmp_path, "uvp6", rows)
    assert flagged(m, "on_land") == [2]
    assert m.ready.tolist() == [False, True, True, True, True]


@pytest.mark.parametrize("setting", ["freshwater=yes", "surface_altitude=372"])
def test_a_lake_dataset_may_be_on_land(tmp_path, setting):
    m = mapped(tmp_path, "uvp6", [row(0, "46.45", "6.55")], setting)  # Lake Geneva
    assert flagged(m, "on_land") == [] and m.ready.all()


def test_impossible_kinds_cannot_be_accepted():
    with pytest.raises(UserError, match="cannot be accepted"):
        parse_accept(["on_land"])
    with pytest.raises(UserError, match="unknown kind"):
        parse_accept(["no_such_kind"])
    assert [str(a) for a in parse_accept(["ship_speed", "default_date:datetime"])] == [
        "ship_speed",
        "default_date:datetime",
    ]


# --- suspicious -----------------------------------------------------------------------------------
def test_a_date_before_the_instrument_existed_is_suspicious(tmp_path):
    rows = [row(0, when="2010-06-01T10:00:00Z"), row(1, when="2020-06-01T10:00:00Z")]
    m = mapped(tmp_path, "uvp6", rows)
    assert flagged(m, "before_instrument") == [2]
    assert m.ready.tolist() == [False, True]


def test_an_old_sample_scanned_on_a_zooscan_is_not_before_its_instrument(tmp_path):
    m = mapped(tmp_path, "zooscan", [row(0, when="1966-05-03T08:00:00Z", pixel="10.6")])
    assert m.problems == [] or flagged(m, "before_instrument") == []
    assert m.ready.all()


def test_an_unset_clocks_date_is_suspicious(tmp_path):
    rows = [row(0, when="1970-01-01T00:00:05Z"), row(1, when="2021-01-01T00:00:05Z")]
    m = mapped(tmp_path, "generic", rows)
    assert flagged(m, "default_date") == [2]


def test_the_planktoscope_clock_start_is_suspicious_only_on_a_planktoscope(tmp_path):
    rows = [row(0, when="2019-02-14T10:15:00Z", pixel="1.0", volume="0.002")]
    assert flagged(mapped(tmp_path / "a", "planktoscope", rows), "default_date") == [2]
    rows = [row(0, when="2019-02-14T10:15:00Z")]
    assert flagged(mapped(tmp_path / "b", "uvp6", rows), "default_date") == []


def test_a_pixel_size_outside_the_instruments_usual_range_is_suspicious(tmp_path):
    m = mapped(tmp_path, "uvp6", [row(0, pixel="300"), row(1, pixel="73")])
    assert flagged(m, "unusual_pixel_size") == [2]


def test_a_volume_outside_the_instruments_range_is_suspicious(tmp_path):
    m = mapped(tmp_path, "uvp6", [row(0, volume="650"), row(1, volume="0.65")])
    assert flagged(m, "unusual_volume") == [2]
    assert m.ready.tolist() == [False, True]  # an optional field, but a wrong value holds it back


def test_a_cruise_jumping_faster_than_a_ship_is_suspicious_at_the_odd_sample_only(tmp_path):
    rows = [
        row(0, "20.00", "-150.00", "2021-06-01T10:00:00Z"),  # north-east of Hawaii
        row(1, "20.00", "150.00", "2021-06-01T11:00:00Z"),  # a lost sign: 6,300 km in an hour
        row(2, "20.05", "-150.00", "2021-06-01T12:00:00Z"),
        row(3, "20.15", "-150.05", "2021-06-01T13:00:00Z"),  # 12 km in an hour: fine
    ]
    m = mapped(tmp_path, "uvp6", rows)
    assert flagged(m, "ship_speed") == [3]
    assert m.ready.tolist() == [True, False, True, True]


def test_many_images_at_one_instant_are_suspicious_for_an_instrument_that_times_each(tmp_path):
    same = [row(i, when="2021-06-01T10:00:00Z", pixel="1.8", volume="0.0001") for i in range(12)]
    m = mapped(tmp_path / "a", "flowcam", same)
    assert len(flagged(m, "same_timestamp")) == 12
    distinct = [row(i, pixel="1.8", volume="0.0001") for i in range(12)]
    assert flagged(mapped(tmp_path / "b", "flowcam", distinct), "same_timestamp") == []
    shared = [row(i, when="2021-06-01T10:00:00Z") for i in range(12)]  # a UVP6 sample's time
    assert flagged(mapped(tmp_path / "c", "uvp6", shared), "same_timestamp") == []


def test_accepting_a_suspicious_kind_makes_its_images_ready_and_records_it(tmp_path):
    rows = [row(0, pixel="300"), row(1, pixel="73")]
    m = mapped(tmp_path, "uvp6", rows, accept=["unusual_pixel_size"])
    assert m.ready.all()
    [p] = [p for p in m.problems if p.kind == "unusual_pixel_size"]
    assert p.severity == "warning" and "accepted" in p.message
    assert [(a.kind, a.field, a.images) for a in m.accepted] == [
        ("unusual_pixel_size", "pixel_size", 1)
    ]


def test_accepting_one_field_does_not_accept_another(tmp_path):
    m = mapped(
        tmp_path, "uvp6", [row(0, pixel="300")], accept=["unusual_pixel_size:volume_sampled"]
    )
    assert not m.ready.any()


def test_a_profile_keeps_the_accepted_kinds(tmp_path):
    from aqqua_packer.mapping import load_profile, save_profile

    m = parse_cli_mapping(["latitude=lat"], []).merged(Mapping(accepted=["ship_speed"]))
    save_profile(m, tmp_path / "p.json")
    assert load_profile(tmp_path / "p.json").accepted == ["ship_speed"]


def test_a_file_name_dated_far_from_the_tables_time_is_suspicious(tmp_path):
    rows = [row(0), row(1), row(2)]
    rows[0][0] = "cam_20210101T100000_00001.png"  # the day of the row: fine
    rows[1][0] = "run_20190514_0001.png"  # more than a year before the row
    rows[2][0] = "IMG_20210103_235900.png"  # the row says 2021-01-03 10:00: 14 h, a time zone
    m = mapped(tmp_path, "generic", rows)
    assert flagged(m, "sources_disagree") == [3]
    [p] = [p for p in m.problems if p.kind == "sources_disagree"]
    assert p.value == "2021-01-02 10:00:00 (file name: 2019-05-14)"


def test_latitudes_beyond_90_beside_longitudes_within_90_say_the_columns_are_swapped(tmp_path):
    rows = [row(0, "143.68", "43.1"), row(1, "143.70", "43.1"), row(2, "143.68", "143.1")]
    m = mapped(tmp_path / "a", "uvp6", rows)
    assert flagged(m, "swapped_position") == [2, 3]  # row 4: both beyond 90, not a swap
    assert flagged(m, "out_of_range") == [2, 3, 4]  # still refused as out of range, as before
    assert not m.ready.any()
    # one bad latitude among good rows is a typo, not a swapped column
    rows = [row(0, "95", "7.3"), row(1), row(2)]
    assert flagged(mapped(tmp_path / "b", "uvp6", rows), "swapped_position") == []


def test_only_the_files_own_name_counts_not_the_folder_or_zip_it_sits_in():
    from aqqua_packer.mapping.plausibility import times_in_names

    ns, has_time = times_in_names(
        ["export__TSV_104_20260627_1012.zip/m106_409.jpg", "run_20190514/IMG_20210103_235900.png"]
    )
    assert ns[0] == np.iinfo(np.int64).min  # the export's date is not the image's
    assert ns[1] == np.datetime64("2021-01-03T23:59:00", "ns").astype(np.int64) and has_time[1]
