"""The gap report: counts per field, every problem in JSON/CSV, identical problems grouped in text."""

from __future__ import annotations

import csv
import json

from mapping_builders import PLANKTOSCOPE_HEADER, image_folder, planktoscope_folder

from aqqua_packer.report import build_report
from aqqua_packer.workflow import Request, check


def test_a_thousand_identical_problems_are_one_readable_group_and_a_thousand_json_rows(tmp_path):
    src = planktoscope_folder(tmp_path / "ps", n=1000)
    report = build_report(check(Request([src])))
    assert (report.images, report.ready) == (1000, 0)
    text = report.to_text()
    assert "0,0 default position [1,000 rows]" in text
    assert "meta.csv row 2 '0, 0'; meta.csv row 3 '0, 0'; meta.csv row 4 '0, 0'; … 997 more" in text
    assert len(text.splitlines()) < 40
    data = json.loads(report.to_json())
    zero = [p for p in data["problems"] if p["kind"] == "default_position"]
    assert len(zero) == 1000
    assert zero[0]["file"].endswith("meta.csv")
    assert zero[0] == {
        "kind": "default_position",
        "field": "latitude",
        "file": zero[0]["file"],
        "row": 2,
        "value": "0, 0",
        "message": zero[0]["message"],
        "severity": "error",
        "plausibility": None,  # a reading problem, not one of plausibility.py's kinds
    }


def test_field_counts_say_how_many_are_ready_missing_invalid_and_why(tmp_path):
    rows = [
        [f"{i}.png", f"o{i}", lat, "7", "20230512", "101500", "0", "1", "a", "s", "0.75"]
        for i, lat in enumerate(["43", "NA", "", "x", "43"])
    ]
    report = build_report(check(Request([image_folder(tmp_path / "d", PLANKTOSCOPE_HEADER, rows)])))
    lat = report.field("latitude")
    assert (lat.ready, lat.missing, lat.invalid) == (2, 2, 1)
    assert lat.reasons == {"sentinel": 1, "missing": 1, "unparseable": 1}
    assert lat.origin == "suggested" and "object_lat" in lat.source
    assert report.field("datetime").ready == 5
    assert report.summary_text().startswith("3 of 5 images are not ready — latitude:")


def test_problem_rows_filter_like_the_gui_table_and_csv_keeps_every_row(tmp_path):
    rows = [
        [
            f"{i}.png",
            f"o{i}",
            "0" if i < 3 else "43",
            "0" if i < 3 else "7",
            "20230512",
            "101500",
            "-1" if i == 4 else "0",
            "1",
            "a",
            "s",
            "0.75",
        ]
        for i in range(6)
    ]
    report = build_report(check(Request([image_folder(tmp_path / "d", PLANKTOSCOPE_HEADER, rows)])))
    assert len(report.problem_rows(kind="default_position")) == 3
    assert [r["row"] for r in report.problem_rows(field="depth_min")] == [6]
    assert report.problem_rows(text="-1")[0]["kind"] == "negative_depth"
    out = report.to_csv(tmp_path / "problems.csv")
    with out.open(encoding="utf-8-sig") as fh:
        lines = list(csv.DictReader(fh))
    assert len(lines) == len(report.problems) and lines[0]["kind"]


def test_the_json_mapping_says_what_each_field_comes_from_and_who_chose_it(tmp_path):
    src = planktoscope_folder(tmp_path / "ps", "43", "7")
    data = json.loads(build_report(check(Request([src], sets=["pixel_size=0.8"]))).to_json())
    assert data["images"] == data["ready"] == 3
    m = data["mapping"]
    assert m["latitude"]["column"] == "object_lat" and m["latitude"]["origin"] == "suggested"
    assert m["pixel_size"] == {
        "constant": "0.8",
        "source": "constant",
        "origin": "given",
        "confidence": None,
    }
    assert m["datetime"]["derived"].startswith("date: column 'object_date'")
    assert m["altitude"]["origin"] == "suggested"


def test_all_ready_summary():
    from aqqua_packer.report import Report

    assert Report(3, 3, [], [], {}).summary_text() == "All 3 images are ready."
    assert Report(0, 0, [], [], {}).summary_text() == "No images were found."


def test_duplicate_rows_pointing_at_different_first_rows_are_one_group(tmp_path):
    header = ["file", "lat", "lon", "datetime", "depth", "pixel_size"]
    good = ["43", "7", "2021-06-01T10:00:00Z", "5", "1.5"]
    rows = [[n, *good] for n in ("a.png", "b.png", "c.png", "a.png", "b.png", "c.png")]
    report = build_report(check(Request([image_folder(tmp_path / "d", header, rows)])))
    dups = [g for g in report.groups() if g.kind == "duplicate_id"]
    assert len(dups) == 1 and dups[0].count == 3 and "row …" in dups[0].message
    assert {p["message"] for p in report.problem_rows(kind="duplicate_id")} == {
        f"this row names the same image as row {r}; the first row is used" for r in (2, 3, 4)
    }
