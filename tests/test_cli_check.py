"""`aqqua-packer check`: the gap report on the command line, its exit codes, JSON and profiles."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aqqua_packer.cli import main

sys.path.insert(0, str(Path(__file__).parent / "mapping"))
from mapping_builders import image_folder, planktoscope_folder  # noqa: E402


def test_check_exits_1_and_lists_the_zero_zero_rows_of_a_planktoscope_table(tmp_path, capsys):
    src = planktoscope_folder(tmp_path / "ps")
    assert main(["check", str(src), "-q"]) == 1
    out = capsys.readouterr().out
    assert "3 images: 0 ready, 3 not ready." in out
    assert "0,0 default position [3 rows]" in out


def test_check_exits_0_once_the_user_confirms_the_position(tmp_path, capsys):
    src = planktoscope_folder(tmp_path / "ps")
    assert main(["check", str(src), "-q", "--set", "zero_position_confirmed=yes"]) == 0
    assert "every one is ready" in capsys.readouterr().out


def test_check_json_is_one_object_with_counts_mapping_and_problems(tmp_path, capsys):
    src = planktoscope_folder(tmp_path / "ps")
    assert main(["check", str(src), "-q", "--json", "--map", "latitude=object_lat"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert (data["images"], data["ready"]) == (3, 0)
    assert data["mapping"]["latitude"]["origin"] == "given"
    assert data["mapping"]["longitude"]["origin"] == "suggested"
    p = data["problems"][0]
    assert set(p) >= {"kind", "field", "file", "row", "value", "message"}
    assert {q["row"] for q in data["problems"] if q["kind"] == "default_position"} == {2, 3, 4}


def test_a_saved_profile_gives_the_same_report_next_time(tmp_path, capsys):
    header = ["Bild", "Breite", "Laenge", "Zeitpunkt", "Tiefe_dbar", "Aufloesung"]
    rows = [["a.png", "54,1", "7,9", "2021-06-01 10:15", "3", "0,00106"]]
    src = image_folder(tmp_path / "d", header, rows, delimiter=";")
    prof = tmp_path / "p.json"
    flags = [
        "--map",
        "datetime=Zeitpunkt",
        "--map",
        "pixel_size=Aufloesung",
        "--set",
        "pixel_size.unit=mm",
        "--set",
        "timezone=Europe/Berlin",
    ]
    assert main(["check", str(src), "-q", "--json", *flags, "--save-profile", str(prof)]) == 0
    first = json.loads(capsys.readouterr().out)
    saved = json.loads(prof.read_text())
    assert saved["fields"]["pixel_size"] == {"column": "Aufloesung", "unit": "mm"}
    assert main(["check", str(src), "-q", "--json", "--profile", str(prof)]) == 0
    second = json.loads(capsys.readouterr().out)

    def counts(d):
        return {f["field"]: (f["ready"], f["missing"], f["invalid"]) for f in d["fields"]}

    assert counts(second) == counts(first)
    assert all(v is None or v["origin"] == "given" for v in second["mapping"].values())


def test_bad_flags_are_one_line_not_a_traceback(tmp_path, capsys):
    src = planktoscope_folder(tmp_path / "ps")
    assert main(["check", str(src), "-q", "--map", "colour=x"]) == 2
    err = capsys.readouterr().err
    assert "unknown field 'colour'" in err and "Traceback" not in err


def test_problems_can_be_written_to_a_csv_for_a_spreadsheet(tmp_path, capsys):
    src = planktoscope_folder(tmp_path / "ps")
    out = tmp_path / "gaps.csv"
    main(["check", str(src), "-q", "--problems-csv", str(out)])
    assert (
        out.read_text(encoding="utf-8-sig").splitlines()[0]
        == "severity,kind,field,file,row,value,message"
    )


def test_a_planktoscope_data_folder_at_0_0_is_reported_not_packed_unless_confirmed(
    tmp_path, capsys
):
    """The PlanktoScope reader's own folder layout (built by tests/sources/ecotaxa_builders.py)."""
    sys.path.insert(0, str(Path(__file__).parent / "sources"))
    from ecotaxa_builders import planktoscope_data

    data = planktoscope_data(tmp_path / "data", lat=0.0, lon=0.0)
    assert main(["check", str(data), "-q", "--json", "--set", "timezone=UTC"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ready"] == 0 and report["images"] > 0
    assert any(
        p["kind"] == "default_position" and p["severity"] == "error" for p in report["problems"]
    )
    flags = ["--set", "timezone=UTC", "--set", "zero_position_confirmed=yes"]
    assert main(["check", str(data), "-q", "--json", *flags]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ready"] == report["images"]
    assert not any(p["kind"] == "default_position" for p in report["problems"])


def test_ifcb_bin_needs_position_depth_and_a_confirmed_pixel_size(shared_fixtures, capsys):
    src = str(shared_fixtures / "ifcb")
    assert main(["check", src, "-q"]) == 1
    out = capsys.readouterr().out
    assert "19 images: 0 ready" in out and "The reader offers, to confirm" in out
    flags = [
        "--set",
        "pixel_size=3.4",
        "--set",
        "pixel_size.unit=px/um",
        "--set",
        "latitude=41°31.5'N",
    ]
    flags += ["--set", "longitude=70°40'W", "--set", "depth=4"]
    assert main(["check", src, "-q", "--json", *flags]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["images"] == data["ready"] == 19
    assert data["mapping"]["pixel_size"] == {
        "constant": "3.4",
        "unit": "px/um",
        "source": "constant",
        "origin": "given",
        "confidence": None,
    }
