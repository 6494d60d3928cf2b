"""PlanktoScope: the data/ folder as the instrument leaves it.

No PlanktoScope data folder ships in ../shared/fixtures, so ``planktoscope_data`` (in
ecotaxa_builders.py) writes one from the format the PlanktoScope software uses: img/<date>/<sample>/
<acq>/ frames + metadata.json (EcoTaxa-style keys, ``acq_local_datetime`` without a zone),
objects/… crops ``<frame>_<n>.jpg`` + the segmenter's ``ecotaxa_<acq>.tsv``, and export/ecotaxa/*.zip
with the same crops and table again.
"""

from __future__ import annotations

import zipfile

import pytest
from ecotaxa_builders import ECOTAXA_HEADER, ecotaxa_row, planktoscope_data, tsv_text

from aqqua_packer.mapping.apply import apply_mapping
from aqqua_packer.mapping.model import parse_cli_mapping
from aqqua_packer.progress import null_task
from aqqua_packer.sources import planktoscope
from aqqua_packer.sources.registry import detect_all, scan_path


def test_data_folder_is_recognised_from_its_metadata_json(tmp_path):
    root = planktoscope_data(tmp_path / "data")
    name, det = detect_all(root)[0]
    assert name == "planktoscope" and "metadata.json" in det.reason and "PlanktoScope" in det.reason


def test_each_crop_is_packed_once_and_the_zip_copies_and_frames_are_set_aside(tmp_path):
    [s] = scan_path(planktoscope_data(tmp_path / "data"))
    assert s.kind == "planktoscope" and s.sensor == "PlanktoScope v2.6"
    assert sorted(im.name for im in s.images) == [
        "objects/2024-05-15/S1/A1/11_02_03_123456_0.jpg",
        "objects/2024-05-15/S1/A1/11_02_03_123456_1.jpg",
        "objects/2024-05-15/S1/A1/11_02_04_654321_0.jpg",
    ]
    zipped = [a for a in s.set_aside if ".zip › " in a.path]
    assert len(zipped) == 3
    assert all(a.kept and a.kept.endswith(a.path.rsplit(" › ", 1)[1]) for a in zipped)
    frames = [a for a in s.set_aside if "/img/" in a.path]
    assert len(frames) == 2 and all(
        "3 segmented objects are packed instead" in a.reason for a in frames
    )


def test_crops_only_in_the_export_zip_are_packed_from_the_zip(tmp_path):
    root = planktoscope_data(tmp_path / "data")
    import shutil

    shutil.rmtree(root / "objects")
    [s] = planktoscope.scan(root, null_task())
    assert len(s.images) == 3 and all(im.members for im in s.images)
    m = apply_mapping([s], parse_cli_mapping([], ["timezone=UTC"]))
    assert m.ready.all()


def test_values_after_mapping_and_the_time_zone_question(tmp_path):
    [s] = scan_path(planktoscope_data(tmp_path / "data"))
    assert "timezone" not in s.suggested["fields"]
    [tz] = [p for p in s.problems if p.kind == "needs_timezone"]
    assert "without a time zone" in tz.message and "acq_local_datetime" in tz.message
    m = apply_mapping([s], parse_cli_mapping([], ["timezone=+02:00"]))
    c = m.converted
    assert m.ready.all()
    assert str(c["image-datetime"].iloc[0]) == "2024-05-15 07:00:00+00:00"  # 09:00 at +02:00
    assert c["image-latitude"].iloc[0] == pytest.approx(48.7273)
    assert c["image-longitude"].iloc[0] == pytest.approx(-3.9814)
    assert c["image-pixel-size-micrometers"].iloc[0] == pytest.approx(0.75)
    assert s.rows["hdr:acq_local_datetime"].eq("2024-05-15T11:02:03").all()  # metadata.json joined
    assert not [p for p in m.problems if p.kind == "needs_timezone"]


def test_unsegmented_acquisition_packs_its_frames_described_by_metadata_json(tmp_path):
    [s] = scan_path(planktoscope_data(tmp_path / "data", segmented=False))
    assert sorted(im.name for im in s.images) == [
        "img/2024-05-15/S1/A1/11_02_03_123456.jpg",
        "img/2024-05-15/S1/A1/11_02_04_654321.jpg",
    ]
    assert s.suggested["fields"]["latitude"]["column"] == "hdr:object_lat"
    m = apply_mapping([s], parse_cli_mapping([], ["timezone=UTC"]))
    assert m.ready.all()
    assert str(m.converted["image-datetime"].iloc[0]) == "2024-05-15 09:00:00+00:00"
    assert s.rows["__table__"].iloc[0] == "img/2024-05-15/S1/A1/metadata.json"


def test_position_0_0_is_flagged_and_not_packed(tmp_path):
    [s] = scan_path(planktoscope_data(tmp_path / "data", lat=0.0, lon=0.0))
    flags = [p for p in s.problems if p.kind == "default_position"]
    assert (
        len(flags) == 1
        and "not filled in" in flags[0].message
        and flags[0].file.endswith("metadata.json")
    )
    m = apply_mapping([s], parse_cli_mapping([], ["timezone=UTC"]))
    assert not m.ready.any()
    assert m.converted["image-latitude"].isna().all()  # never the Gulf of Guinea
    fixed = apply_mapping(
        [s], parse_cli_mapping([], ["timezone=UTC", "latitude=48.72", "longitude=-3.98"])
    )
    assert fixed.ready.all()


def test_export_zip_alone_is_read_in_place_and_dotdot_members_refused(tmp_path):
    root = planktoscope_data(tmp_path / "data")
    [z] = (root / "export" / "ecotaxa").glob("*.zip")
    with zipfile.ZipFile(z, "a") as zf:
        zf.writestr("../../evil.jpg", b"x")
    name, _ = detect_all(z)[0]
    assert name == "planktoscope"
    [s] = scan_path(z)
    assert len(s.images) == 3
    [p] = [p for p in s.problems if p.kind == "unsafe_path"]
    assert p.file == str(z) and p.value == "../../evil.jpg"
    assert not (tmp_path.parent / "evil.jpg").exists()


def test_segmenter_table_with_missing_type_line_and_ragged_rows_is_named(tmp_path):
    root = planktoscope_data(tmp_path / "data", export_zip=False)
    [tsv] = (root / "objects").rglob("ecotaxa_*.tsv")
    lines = tsv.read_text(encoding="utf-8").split("\n")
    del lines[1]
    lines[2] = lines[2] + "\tstray\tvalues"
    tsv.write_text("\n".join(lines), encoding="utf-8")
    [s] = planktoscope.scan(root, null_task())
    got = {(p.kind, p.row) for p in s.problems if p.file and p.file.endswith(tsv.name)}
    assert ("missing_type_line", 2) in got and ("ragged_row", 3) in got


def test_empty_folder_is_named_and_not_a_planktoscope(tmp_path):
    assert planktoscope.detect(tmp_path).confidence == 0
    [s] = planktoscope.scan(tmp_path, null_task())
    assert s.images == [] and any(p.kind == "empty" and p.file == str(tmp_path) for p in s.problems)


def test_a_plain_ecotaxa_folder_is_not_claimed(tmp_path):
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "ecotaxa_x.tsv").write_text(
        tsv_text(ECOTAXA_HEADER, [ecotaxa_row(0)]), encoding="latin-1"
    )
    assert planktoscope.detect(tmp_path / "e").confidence == 0
