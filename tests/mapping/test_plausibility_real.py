"""Plausibility on real data: no false alarm on the bundled sample data, the shared instrument
fixtures and a real PlanktoScope export; the factory defaults a lab corrected in real PlanktoScope
runs are flagged impossible.  And the user's side: `check --json`, `--accept`, image-set.toml."""

from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from aqqua_packer.cli import main
from aqqua_packer.mapping.plausibility import IMPOSSIBLE_KINDS, LEVEL
from aqqua_packer.package import layout
from aqqua_packer.resources import sample_data_dir
from aqqua_packer.workflow import Request, check

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
FIXTURES = Path(os.environ.get("AQQUA_SHARED_FIXTURES", SHARED / "fixtures"))
REAL = Path(os.environ.get("AQQUA_REAL_FIXTURES", SHARED / "fixtures-real"))


def real(name: str) -> Path:
    p = REAL / name
    if not p.exists():
        pytest.skip(f"absent: ../shared/fixtures-real/{name} is not present")
    return p


def impossible(mapped) -> list[str]:
    return [str(p) for p in mapped.problems if p.kind in IMPOSSIBLE_KINDS]


def planktoscope_table(folder: Path, rows: list[dict[str, str]]) -> Path:
    """An EcoTaxa table as a PlanktoScope writes it, one stand-in crop per row (no [t]/[f] line:
    the export format of global.tsv.gz)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, r in enumerate(rows):
        r.setdefault("img_file_name", f"crop_{i}.png")
        r.setdefault("acq_instrument", "PlanktoScope v2.5")
        r.setdefault("process_pixel", "0.86")
        Image.new("L", (8, 6), 40 + i % 200).save(folder / r["img_file_name"])
    pd.DataFrame(rows).to_csv(folder / "ecotaxa_stand_in.tsv", sep="\t", index=False)
    return folder


# --- no false alarm -------------------------------------------------------------------------------
def test_the_bundled_sample_data_raises_no_impossible_problem():
    m = check(Request([sample_data_dir()]))
    assert len(m.items) == 40 and impossible(m) == []


def test_no_shared_instrument_fixture_raises_an_impossible_problem():
    if not FIXTURES.is_dir():
        pytest.skip("absent: ../shared/fixtures is not present")
    folders = sorted(p for p in FIXTURES.iterdir() if p.is_dir())
    assert len(folders) >= 5
    for folder in folders:
        m = check(Request([folder]))
        assert len(m.items) > 0, folder
        assert impossible(m) == [], folder


def test_a_real_planktoscope_export_off_brest_is_neither_on_land_nor_too_fast(tmp_path):
    raw = gzip.decompress(real("planktoscope_export_table/global.tsv.gz").read_bytes())
    table = pd.read_csv(
        io.BytesIO(raw), sep="\t", dtype=str, keep_default_na=False, encoding="utf-8-sig"
    )
    samples = table.drop_duplicates(["object_date", "object_time", "object_lat", "object_lon"])
    # volumes are millilitres (the reader's field sheet): left out, this test is about positions
    rows = samples.drop(columns=["acq_volume", "acq_imaged_volume"]).to_dict("records")
    m = check(Request([planktoscope_table(tmp_path / "ps", rows)], sets=["timezone=UTC"]))
    assert m.scans[0].kind == "planktoscope" and len(m.items) == len(samples) == 14
    kinds = {p.kind for p in m.problems if p.kind in LEVEL}
    assert kinds == set(), [str(p) for p in m.problems if p.kind in LEVEL]


# --- the defaults a lab corrected -------------------------------------------------------------------
def corrections(which: str) -> list[dict[str, str]]:
    """Each corrected run's position, date, time and depths as the PlanktoScope wrote them
    (``old``) or as the lab corrected them (``new``)."""
    rows = []
    for f in sorted(real("planktoscope_corrections").glob("*.json")):
        d = json.loads(f.read_text(encoding="utf-8"))
        r = {}
        for k in ("object_lat", "object_lon", "object_date", "object_time"):
            v = d[k]["old_values"][0] if which == "old" else d[k]["new_value"]
            r[k] = v.replace("-", "") if k == "object_date" else v.replace(":", "")
        r["object_lat"], r["object_lon"] = (
            (d["object_lat"]["old_values"][0], d["object_lon"]["old_values"][0])
            if which == "old"
            else (d["object_lat"]["new_value"], d["object_lon"]["new_value"])
        )
        if which == "new" and not r["object_date"]:
            continue  # the lab left the date open: nothing to check it against
        rows.append(r)
    return rows


def test_the_planktoscope_factory_position_of_real_runs_is_impossible(tmp_path):
    rows = corrections("old")
    assert len(rows) == 40 and all(r["object_lat"] == "-90.0000" for r in rows)
    m = check(Request([planktoscope_table(tmp_path / "old", rows)], sets=["timezone=UTC"]))
    assert m.scans[0].kind == "planktoscope"
    flagged = [p for p in m.problems if p.kind == "factory_default"]
    assert len(flagged) == 40 and all(p.severity == "error" for p in flagged)
    assert {p.value for p in flagged} == {"-90, 0"}
    assert not m.ready.any()


def test_the_same_runs_with_the_labs_corrections_raise_no_impossible_problem(tmp_path):
    rows = corrections("new")
    assert len(rows) == 16  # the runs whose date the lab corrected too
    m = check(Request([planktoscope_table(tmp_path / "new", rows)], sets=["timezone=UTC"]))
    assert impossible(m) == []


# --- the user's side --------------------------------------------------------------------------------
def uvp6_like(tmp_path: Path, pixel: str) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    rows = []
    for i in range(3):
        Image.new("L", (8, 6), 60 + i).save(folder / f"im{i}.png")
        rows.append(f"im{i}.png,43.68,7.32,2021-06-0{i + 1}T10:00:00Z,{pixel},5")
    (folder / "meta.csv").write_text("file,lat,lon,when,pixel,depth\n" + "\n".join(rows) + "\n")
    return folder


MAPS = [
    "image=file",
    "latitude=lat",
    "longitude=lon",
    "datetime=when",
    "pixel_size=pixel",
    "depth=depth",
]


def cli_args(*extra: str) -> list[str]:
    return [*(a for m in MAPS for a in ("--map", m)), "--kind", "generic", *extra]


def test_check_json_carries_the_plausibility_kinds_and_accept_changes_readiness(tmp_path, capsys):
    src = uvp6_like(tmp_path, "73")
    (src / "meta.csv").write_text(
        (src / "meta.csv").read_text().replace("2021-06-01T10:00:00Z", "1970-01-01T00:00:00Z")
    )
    args = ["check", str(src), "-q", "--json", *cli_args()]
    assert main(args) == 1
    report = json.loads(capsys.readouterr().out)
    [p] = [p for p in report["problems"] if p["kind"] == "default_date"]
    assert p["plausibility"] == "suspicious" and p["severity"] == "error"
    assert p["file"].endswith("meta.csv") and p["row"] == 2 and p["field"] == "datetime"
    assert p["value"] == "1970-01-01"
    assert report["ready"] == 2
    assert main([*args, "--accept", "default_date"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ready"] == 3
    assert report["accepted"] == [
        {"kind": "default_date", "field": "datetime", "images": 1, "why": "an unset clock's date"}
    ]


def test_an_impossible_kind_given_to_accept_is_refused_with_a_reason(tmp_path, capsys):
    src = uvp6_like(tmp_path, "73")
    assert main(["check", str(src), "-q", *cli_args("--accept", "on_land")]) == 2
    assert "cannot be accepted" in capsys.readouterr().err


def test_pack_records_what_was_accepted_by_whom_and_when_in_image_set_toml(tmp_path, capsys):
    src = uvp6_like(tmp_path, "73")
    (src / "meta.csv").write_text(
        (src / "meta.csv").read_text().replace("2021-06-01T10:00:00Z", "1970-01-01T00:00:00Z")
    )
    out = tmp_path / "pkg"
    pack = ["pack", str(src), "--out", str(out), "-q", "--workers", "1", *cli_args()]
    who = ["--contributor", "Ada Lovelace", "--email", "ada@example.org"]
    assert main([*pack, *who]) == 2  # not ready: nothing packed
    assert "--accept default_date" in capsys.readouterr().err
    assert main([*pack, *who, "--accept", "default_date"]) == 0
    doc = layout.read_image_set(out)
    [rec] = doc["aqqua"]["accepted"]
    assert rec["kind"] == "default_date" and rec["field"] == "datetime" and rec["images"] == 1
    assert rec["accepted-by"] == "Ada Lovelace <ada@example.org>"
    assert rec["accepted-at"].endswith("Z") and rec["accepted-at"][:4] >= "2026"
