"""Suggestions that hold up on values: the column names of PANGAEA, Darwin Core, OBIS, iFDO,
SeaDataNet and EcoTaxa tables find their field, the unit in a name converts the value into the
field's unit, and a column whose values contradict the field is not suggested (and says why)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from aqqua_packer.cli import main
from aqqua_packer.mapping import Mapping, apply_mapping
from aqqua_packer.mapping.suggest import suggest_mapping
from aqqua_packer.report import build_report
from aqqua_packer.sources.base import ROW_COL, TABLE_COL, ImageRef, Scan


def _scan(columns: dict[str, list[str]], kind: str = "generic") -> Scan:
    df = pd.DataFrame(columns, dtype=object)
    df[TABLE_COL] = "t.csv"
    df[ROW_COL] = range(2, len(df) + 2)
    n = len(df)
    images = [ImageRef(f"i{k}.png", f"/data/i{k}.png", row=k) for k in range(n)]
    return Scan(kind, Path("/data"), images=images, rows=df)


def _converted(columns: dict[str, list[str]], kind: str = "generic") -> pd.DataFrame:
    mapped = apply_mapping([_scan(columns, kind)], Mapping())
    return mapped.converted


PANGAEA = {
    "Event": ["PS122/1_1-1", "PS122/1_1-1"],
    "DATE/TIME": ["2019-10-05T12:30", "2019-10-05T12:31"],
    "LATITUDE": ["85.0683", "85.0683"],
    "LONGITUDE": ["133.8906", "133.8906"],
    "Depth water [m]": ["5", "20.5"],
}


def test_pangaea_columns_find_their_fields_and_depth_water_becomes_altitude_below_zero():
    m = suggest_mapping(_scan(PANGAEA))
    assert m.get("datetime").column == "DATE/TIME"
    assert m.get("latitude").column == "LATITUDE"
    assert m.get("longitude").column == "LONGITUDE"
    assert m.get("depth").column == "Depth water [m]"
    c = _converted(PANGAEA)
    assert c["image-altitude-meters"].tolist() == [-5.0, -20.5]
    assert c["image-latitude"].tolist() == [85.0683, 85.0683]


def test_pangaea_elevation_is_altitude_positive_up_when_no_depth_is_given():
    cols = {"Date/Time": ["2019-10-05T12:30"], "Latitude": ["47.6"], "Longitude": ["9.4"]}
    cols["Elevation [m]"] = ["395"]
    assert suggest_mapping(_scan(cols)).get("altitude").column == "Elevation [m]"
    assert _converted(cols)["image-altitude-meters"].tolist() == [395.0]


def test_an_elevation_beside_a_water_depth_is_left_to_the_depth():
    """In PANGAEA and Darwin Core event data the elevation is often the site's (the sea floor's)."""
    cols = {**PANGAEA, "Elevation [m]": ["-4012", "-4012"]}
    m = suggest_mapping(_scan(cols))
    assert m.get("altitude") is None and m.get("depth").column == "Depth water [m]"
    assert _converted(cols)["image-altitude-meters"].tolist() == [-5.0, -20.5]


DWC = {
    "occurrenceID": ["o1", "o2"],
    "eventID": ["cruise1_st4_net2", "cruise1_st4_net2"],
    "eventDate": ["2021-07-14", "2021-07-14"],
    "eventTime": ["10:15:00", "10:20:00"],
    "decimalLatitude": ["-33.91", "-33.91"],
    "decimalLongitude": ["151.25", "151.25"],
    "minimumDepthInMeters": ["0", "0"],
    "maximumDepthInMeters": ["50", "50"],
    "scientificName": ["Calanus finmarchicus", "Oithona similis"],
    "materialSampleID": ["s1", "s2"],
}


def test_darwin_core_terms_find_their_fields_and_a_date_with_a_time_beside_it_is_joined():
    m = suggest_mapping(_scan(DWC))
    got = {name: spec.column for name, spec in m.fields.items()}
    assert got["latitude"] == "decimalLatitude" and got["longitude"] == "decimalLongitude"
    assert got["depth_min"] == "minimumDepthInMeters"
    assert got["depth_max"] == "maximumDepthInMeters"
    assert got["label"] == "scientificName"
    assert got["object_id"] == "occurrenceID"
    assert got["sample_id"] in ("eventID", "materialSampleID")
    assert (got["date"], got["time"]) == ("eventDate", "eventTime")
    assert "datetime" not in got  # not midnight from the date alone
    c = _converted(DWC)
    assert c["image-datetime"].astype(str).tolist()[0].startswith("2021-07-14 10:15")
    assert c["image-depth-min-meters"].tolist() == [0.0, 0.0]
    assert c["image-depth-max-meters"].tolist() == [50.0, 50.0]
    assert c["image-altitude-meters"].tolist() == [-25.0, -25.0]


def test_obis_verbatim_depth_and_darwin_core_elevation():
    m = suggest_mapping(_scan({"verbatimDepth": ["12", "13"]}))
    assert m.get("depth").column == "verbatimDepth"
    m = suggest_mapping(_scan({"minimumElevationInMeters": ["410", "410"]}))
    assert m.get("altitude").column == "minimumElevationInMeters"


IFDO = {
    "image-filename": ["a.png", "b.png"],
    "image-datetime": ["2022-03-01T08:00:00Z", "2022-03-01T08:00:05Z"],
    "image-latitude": ["54.1", "54.1"],
    "image-longitude": ["7.9", "7.9"],
    "image-altitude-meters": ["-12.5", "-13"],
    "image-pixel-per-millimeter": ["200", "200"],
}


def test_ifdo_fields_find_their_fields_and_pixels_per_millimetre_become_micrometres_per_pixel():
    m = suggest_mapping(_scan(IFDO))
    assert m.get("altitude").column == "image-altitude-meters"
    assert m.get("pixel_size").column == "image-pixel-per-millimeter"
    assert m.get("pixel_size").unit == "px/mm"
    c = _converted(IFDO)
    assert c["image-pixel-size-micrometers"].tolist() == [5.0, 5.0]  # 1000 µm / 200 px
    assert c["image-altitude-meters"].tolist() == [-12.5, -13.0]


def test_seadatanet_columns_with_units_in_brackets_and_a_time_column_named_by_its_format():
    cols = {
        "Cruise": ["64PE"],
        "yyyy-mm-ddThh:mm:ss.sss": ["2018-06-02T14:03:21.000"],
        "Latitude [degrees_north]": ["43.2"],
        "Longitude [degrees_east]": ["5.3"],
        "Depth [m]": ["75"],
    }
    m = suggest_mapping(_scan(cols))
    assert m.get("datetime").column == "yyyy-mm-ddThh:mm:ss.sss"
    assert m.get("latitude").column == "Latitude [degrees_north]"
    assert m.get("longitude").column == "Longitude [degrees_east]"
    assert m.get("depth").column == "Depth [m]"
    assert _converted(cols)["image-altitude-meters"].tolist() == [-75.0]


@pytest.mark.parametrize(
    ("name", "values", "field", "unit", "column", "expected"),
    [
        ("Depth [cm]", ["150"], "depth", "cm", "image-depth-meters", 1.5),
        ("Pressure [dbar]", ["30"], "depth", "dbar", "image-depth-meters", 30.0),
        ("depth_m", ["7"], "depth", None, "image-depth-meters", 7.0),
        ("volume_ml", ["1000"], "volume_sampled", "ml", "image-volume-sampled-liters", 1.0),
        ("Volume [mL]", ["250"], "volume_sampled", "ml", "image-volume-sampled-liters", 0.25),
        ("vol_l", ["2"], "volume_sampled", None, "image-volume-sampled-liters", 2.0),
        ("Volume [µl]", ["500"], "volume_sampled", "ul", "image-volume-sampled-liters", 0.0005),
        ("pixel_size_um", ["10.6"], "pixel_size", None, "image-pixel-size-micrometers", 10.6),
        ("Pixel size [µm]", ["10.6"], "pixel_size", None, "image-pixel-size-micrometers", 10.6),
        ("pixel_size_mm", ["0.0106"], "pixel_size", "mm", "image-pixel-size-micrometers", 10.6),
        (
            "Resolution [px/mm]",
            ["94.34"],
            "pixel_size",
            "px/mm",
            "image-pixel-size-micrometers",
            10.6,
        ),
    ],
)
def test_the_unit_in_a_name_converts_the_value_into_the_fields_unit(
    name, values, field, unit, column, expected
):
    spec = suggest_mapping(_scan({name: values})).get(field)
    assert spec is not None and spec.column == name
    assert spec.unit == unit
    assert _converted({name: values})[column].tolist() == [pytest.approx(expected, rel=1e-3)]


def test_ecotaxa_names_are_found():
    cols = {
        "object_lat": ["43.68"],
        "object_lon": ["7.31"],
        "object_date": ["20200205"],
        "object_time": ["101500"],
        "object_depth_min": ["0"],
        "object_depth_max": ["200"],
        "process_pixel": ["10.6"],
        "object_annotation_category": ["Copepoda"],
    }
    m = suggest_mapping(_scan(cols))
    got = {name: spec.column for name, spec in m.fields.items()}
    assert got["latitude"] == "object_lat" and got["longitude"] == "object_lon"
    assert got["depth_min"] == "object_depth_min" and got["depth_max"] == "object_depth_max"
    assert got["pixel_size"] == "process_pixel"
    assert got["label"] == "object_annotation_category"


# --- the no-false-suggestion side ------------------------------------------------------------------
def test_a_label_column_of_small_whole_numbers_is_not_suggested_and_says_why():
    m = suggest_mapping(_scan({"label": ["0", "1", "2", "1", "0"]}))
    assert m.get("label") is None
    doubt = m.doubted["label"]
    assert doubt.column == "label" and "small whole numbers" in doubt.doubt
    assert doubt.confidence < 0.5
    # names of taxa are suggested as before
    assert (
        suggest_mapping(_scan({"label": ["Copepoda", "detritus"]})).get("label").column == "label"
    )


def test_grey_levels_are_not_depths_when_the_header_gives_a_depth_range():
    """ZooProcess: the object table's Min/Max are grey levels; the sample header's Zmin/Zmax
    (repeated on every row) are the net's depth range."""
    n = 40
    cols = {
        "Min": [str(10 + 5 * k) for k in range(n)],  # 10 .. 205
        "depth": [str(30 + 4 * k) for k in range(n)],  # grey levels named "depth" in a bad export
        "hdr:Zmin": ["600"] * n,
        "hdr:Zmax": ["1000"] * n,
    }
    m = suggest_mapping(_scan(cols, kind="zooscan"))
    assert m.get("depth") is None
    assert "outside the depth range 600 to 1000 m" in m.doubted["depth"].doubt
    assert m.get("depth_min").column == "hdr:Zmin" and m.get("depth_max").column == "hdr:Zmax"
    # without a header range the same values are a depth (a CTD cast in 4 m bins)
    plain = suggest_mapping(_scan({"depth": cols["depth"]}))
    assert plain.get("depth").column == "depth" and not plain.doubted


def test_a_name_exactly_one_fields_is_not_taken_by_another_field_it_is_close_to():
    m = suggest_mapping(_scan({"depth_m": ["5", "7"]}))
    assert m.get("depth").column == "depth_m"
    assert m.get("depth_min") is None


def test_check_shows_a_doubted_column_in_plain_words_in_text_and_json(tmp_path, capsys):
    from PIL import Image

    src = tmp_path / "d"
    src.mkdir()
    lines = ["file,latitude,longitude,datetime,depth,pixel_size_um,label"]
    for k in range(3):
        Image.new("L", (8, 8), k).save(src / f"i{k}.png")
        lines.append(f"i{k}.png,43.1,7.2,2024-05-01T10:00:00Z,5,10.6,{k}")
    (src / "meta.csv").write_text("\n".join(lines) + "\n")
    assert main(["check", str(src), "-q"]) == 0
    out = capsys.readouterr().out
    assert "Not suggested, although the name fits" in out
    assert "label: column 'label': it holds only small whole numbers (0, 1, 2)" in out
    assert main(["check", str(src), "-q", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["doubted"]["label"]["column"] == "label"
    assert data["mapping"].get("label") is None
    # mapping it on purpose uses it, and the doubt is no longer shown
    assert main(["check", str(src), "-q", "--json", "--map", "label=label"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["mapping"]["label"]["column"] == "label" and "label" not in data["doubted"]


def test_the_report_of_a_mapping_without_doubts_has_none():
    mapped = apply_mapping([_scan(PANGAEA)], Mapping())
    assert build_report(mapped).doubted == {}
