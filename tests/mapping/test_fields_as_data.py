"""Fields as data: the field table says how each field is read, what it may be derived from and
whether it is required; the mapping is a loop over that table and the named steps."""

from __future__ import annotations

import dataclasses

from mapping_builders import image_folder

from aqqua_packer import fields
from aqqua_packer.fields import BY_NAME, FIELDS, REQUIRED_COLUMNS, REQUIRED_FIELDS, sources_of
from aqqua_packer.mapping.convert import CONVERTERS
from aqqua_packer.mapping.steps import STEPS
from aqqua_packer.report import build_report
from aqqua_packer.workflow import Request, check

HEADER = ["img", "lat", "lon", "when", "px", "cruise"]
MAPS = ["datetime=when", "pixel_size=px"]


def test_required_is_said_once_by_the_field_table():
    assert REQUIRED_FIELDS == tuple(f.name for f in FIELDS if f.required)
    assert REQUIRED_COLUMNS[:2] == ("image-uuid", "image-filename")
    assert REQUIRED_COLUMNS[2:] == tuple(BY_NAME[n].column for n in REQUIRED_FIELDS)


def test_every_converter_step_and_derivation_the_table_names_exists():
    for f in FIELDS:
        assert f.convert is None or f.convert in CONVERTERS, f.name
        assert all(d in BY_NAME for d in f.derives_from), f.name
        assert f.backs is None or f.backs in BY_NAME, f.name
    assert all(s.after in BY_NAME and s.name for s in STEPS)


def test_a_required_field_may_come_from_the_fields_it_derives_from():
    assert sources_of("altitude") == ("altitude", "depth", "depth_min", "depth_max")
    assert sources_of("datetime") == ("datetime", "date")
    assert sources_of("pixel_size") == ("pixel_size",)


def test_the_report_lists_as_required_exactly_the_fields_the_table_requires(tmp_path):
    root = image_folder(
        tmp_path / "d", HEADER, [["a.png", "43.1", "7.2", "2021-05-03T10:00:00Z", "10", "X1"]]
    )
    report = build_report(check(Request([root], maps=MAPS, sets=["altitude=0"]), open_images=False))
    assert {f.name for f in report.fields if f.required} == set(REQUIRED_FIELDS)


def test_a_new_field_declared_only_in_the_table_is_converted_reported_and_ready(
    tmp_path, monkeypatch
):
    """A contributor's cruise id, as a new text field: one entry in the table, nothing else."""
    cruise = dataclasses.replace(
        BY_NAME["sample_id"], name="cruise_id", label="Cruise", column="image-cruise-id"
    )
    monkeypatch.setattr(fields, "FIELDS", (*FIELDS, cruise))
    monkeypatch.setitem(BY_NAME, "cruise_id", cruise)
    root = image_folder(
        tmp_path / "d",
        HEADER,
        [
            ["a.png", "43.1", "7.2", "2021-05-03T10:00:00Z", "10", "MSM-99"],
            ["b.png", "43.1", "7.2", "2021-05-03T10:05:00Z", "10", ""],
        ],
    )
    mapped = check(
        Request([root], maps=[*MAPS, "cruise_id=cruise"], sets=["altitude=0"]), open_images=False
    )
    got = mapped.converted["image-cruise-id"]
    assert got.iloc[0] == "MSM-99" and got.isna().iloc[1]
    assert mapped.fields["cruise_id"].counts() == (1, 1, 0)
    assert mapped.ready.all()  # optional: a missing cruise id does not hold an image back
    report = build_report(mapped)
    assert "cruise_id" in {f.name for f in report.fields}


def test_a_reversed_depth_range_is_put_in_order_before_depth_and_altitude_are_derived(tmp_path):
    root = image_folder(
        tmp_path / "d",
        ["img", "lat", "lon", "when", "px", "zmin", "zmax"],
        [["a.png", "43.1", "7.2", "2021-05-03T10:00:00Z", "10", "200", "100"]],
    )
    mapped = check(
        Request([root], maps=[*MAPS, "depth_min=zmin", "depth_max=zmax"]), open_images=False
    )
    row = mapped.converted.iloc[0]
    assert (row["image-depth-min-meters"], row["image-depth-max-meters"]) == (100.0, 200.0)
    assert row["image-depth-meters"] == 150.0
    assert row["image-altitude-meters"] == -150.0
    assert mapped.ready.all()
