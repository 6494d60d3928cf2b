"""Suggestions: presets first, then column names that look like a field *and* hold its values."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from aqqua_packer.mapping.suggest import name_score, suggest_mapping, unit_hint
from aqqua_packer.sources.base import ROW_COL, TABLE_COL, Scan


def _scan(
    columns: dict[str, list[str]], kind: str = "generic", suggested: dict | None = None
) -> Scan:
    df = pd.DataFrame(columns, dtype=object)
    df[TABLE_COL] = "t.csv"
    df[ROW_COL] = range(2, len(df) + 2)
    return Scan(kind, Path("/data"), rows=df, suggested=suggested or {})


@pytest.mark.parametrize(
    "name", ["Lat", "LATITUDE", "object_lat", "gpsLatitude", "Breite", "Latitude [°N]", "lat_deg"]
)
def test_latitude_is_found_under_its_many_names(name):
    m = suggest_mapping(_scan({name: ["43.1", "43.2", "43.25"]}))
    spec = m.get("latitude")
    assert spec is not None and spec.column == name and spec.origin == "suggested"
    assert spec.confidence >= 0.9
    assert spec.samples == ["43.1", "43.2", "43.25"] and "43.1" in spec.reason


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("Länge", "longitude"),
        ("LON", "longitude"),
        ("Tiefe", "depth"),
        ("Datum", "date"),
        ("pixel_size_um", "pixel_size"),
        ("Timestamp", "datetime"),
    ],
)
def test_other_fields_in_other_languages_and_cases(name, field):
    values = {
        "longitude": "7.2",
        "depth": "12",
        "date": "2021-06-01",
        "pixel_size": "1.5",
        "datetime": "2021-06-01T10:00:00Z",
    }[field]
    m = suggest_mapping(_scan({name: [values]}))
    assert m.get(field) is not None and m.get(field).column == name


def test_a_near_miss_name_is_suggested_only_when_its_values_agree():
    assert suggest_mapping(_scan({"Latitde": ["43.1", "43.2"]})).get("latitude").column == "Latitde"
    assert suggest_mapping(_scan({"Latitde": ["high", "low"]})).get("latitude") is None
    assert name_score("latitude", "Latitde")[0] < name_score("latitude", "Lat")[0]


def test_sizes_of_objects_are_not_taken_for_altitude_or_depth():
    m = suggest_mapping(
        _scan({"object_height": ["12"], "object_width": ["3"], "object_area": ["40"]})
    )
    assert m.fields == {}


def test_units_are_read_from_column_names():
    assert unit_hint("Depth [cm]") == "cm"
    assert unit_hint("pressure_dbar") == "dbar"
    assert unit_hint("PRES") == "dbar"
    assert unit_hint("pixel size (µm)") == "um"
    assert unit_hint("resolution_dpi") == "dpi"
    m = suggest_mapping(_scan({"Depth [cm]": ["150"], "resolution_dpi": ["2400"]}))
    assert m.get("depth").unit == "cm" and m.get("pixel_size").unit == "dpi"


def test_the_instrument_preset_wins_over_names():
    preset = {
        "fields": {"latitude": {"column": "object_lat", "format": "ddmm", "confidence": 0.95}}
    }
    m = suggest_mapping(_scan({"object_lat": ["43.41"], "Lat": ["43.5"]}, suggested=preset))
    spec = m.get("latitude")
    assert (spec.column, spec.format, spec.confidence) == ("object_lat", "ddmm", 0.95)


def test_a_datetime_column_makes_date_and_time_columns_unnecessary():
    m = suggest_mapping(
        _scan({"datetime": ["2021-06-01T10:00:00Z"], "date": ["2021-06-01"], "time": ["10:00"]})
    )
    assert (
        m.get("datetime").column == "datetime" and m.get("date") is None and m.get("time") is None
    )
    m = suggest_mapping(_scan({"date": ["2021-06-01"], "time": ["10:00"]}))
    assert (m.get("date").column, m.get("time").column) == ("date", "time") and m.get(
        "datetime"
    ) is None


def test_instrument_prefixes_are_looked_through_but_not_into_other_fields():
    assert name_score("latitude", "hdr:object_lat")[0] >= 0.9
    assert name_score("object_id", "sample_id")[0] == 0
    m = suggest_mapping(_scan({"sample_id": ["s1", "s2"]}))
    assert m.get("sample_id").column == "sample_id" and m.get("object_id") is None
