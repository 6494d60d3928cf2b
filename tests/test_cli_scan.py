"""`aqqua-packer scan SRC… [--json]` tells the user what was recognised, in words or as one JSON
object: kind, confidence and reason, images, tables, columns with samples, the suggested mapping,
set-aside copies and problems."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from aqqua_packer.cli import main


def _json(capsys, *args) -> tuple[int, dict]:
    code = main(["scan", "--quiet", "--json", *map(str, args)])
    return code, json.loads(capsys.readouterr().out)


def test_scan_json_describes_each_fixture_part(shared_fixtures, capsys):
    code, out = _json(
        capsys,
        shared_fixtures / "ifcb",
        shared_fixtures / "flowcam",
        shared_fixtures / "microscopy",
    )
    assert code == 0
    assert out["aqqua-scan"] == 1 and out["images"] == 19 + 506 + 1
    ifcb, flowcam, scope = out["parts"]
    assert (ifcb["kind"], ifcb["images"]["count"], ifcb["confidence"]) == ("ifcb", 19, 0.95)
    assert "D20130526T095207_IFCB013" in ifcb["reason"]
    assert ifcb["tables"] == ["D20130526T095207_IFCB013.adc"] and ifcb["rows"] == 118
    cols = {c["name"]: c["samples"] for c in ifcb["columns"]}
    assert cols["ifcb:datetime"] == ["2013-05-26T09:52:07Z"]
    assert "pixel_size" not in ifcb["suggested"]
    assert ifcb["to_confirm"]["pixel_size"]["confidence"] < 0.5
    assert flowcam["kind"] == "flowcam" and flowcam["images"]["count"] == 506
    assert (
        flowcam["set_aside"][0]["path"].endswith("_bin.tif")
        and "mask" in flowcam["set_aside"][0]["reason"]
    )
    assert flowcam["problems"]["by_kind"] == {"needs_timezone": 1}
    assert flowcam["suggested"]["pixel_size"]["column"] == "flowcam:pixel_size_um"
    assert (
        scope["kind"] == "microscopy"
        and scope["suggested"]["pixel_size"]["column"] == "ome:PhysicalSizeX"
    )


def test_scan_text_names_kind_reason_columns_and_mapping(shared_fixtures, capsys):
    assert main(["scan", "--quiet", str(shared_fixtures / "ifcb")]) == 0
    text = capsys.readouterr().out
    assert "[1] ifcb: IFCB013 (1 bin)  (confidence 0.95)" in text
    assert "images: 19" in text and "ROIwidth: '0', '88', '104'" in text
    assert "to confirm (not applied until you give it):" in text
    assert "pixel_size ← constant '3.4' (unit px/um) [0.20]" in text


def test_scan_of_an_empty_folder_exits_1_naming_it(tmp_path, capsys):
    (tmp_path / "cruise").mkdir()
    code, out = _json(capsys, tmp_path / "cruise")
    assert code == 1 and out["images"] == 0
    (p,) = out["parts"][0]["problems"]["items"]
    assert p["file"].endswith("cruise") and p["message"] == "the folder is empty"


def test_scan_of_a_broken_bin_lists_the_adc_row(shared_fixtures, tmp_path, capsys):
    import shutil

    d = tmp_path / "bin"
    shutil.copytree(shared_fixtures / "ifcb", d)
    roi = d / "D20130526T095207_IFCB013.roi"
    roi.chmod(0o644)
    roi.write_bytes(roi.read_bytes()[:90000])
    code, out = _json(capsys, d)
    assert code == 0
    items = out["parts"][0]["problems"]["items"]
    adc = (d / "D20130526T095207_IFCB013.adc").read_text().splitlines()
    lost = [
        n
        for n, ln in enumerate(adc, 1)
        if (c := ln.split(",")) and int(c[15]) and int(c[17]) + int(c[15]) * int(c[16]) > 90000
    ]
    assert lost and [(i["file"], i["row"]) for i in items] == [
        ("D20130526T095207_IFCB013.adc", n) for n in lost
    ]
    assert out["parts"][0]["images"]["count"] == 19 - len(lost)


def test_scan_runs_as_a_command_and_shows_progress(shared_fixtures):
    proc = subprocess.run(
        [sys.executable, "-m", "aqqua_packer", "scan", str(shared_fixtures / "flowcam")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "flowcam:" in proc.stdout and "images: 506" in proc.stdout
    assert "scan:" in proc.stderr and "506 FlowCam particles" in proc.stderr


def test_scan_of_a_missing_path_is_one_clear_line(tmp_path, capsys):
    assert main(["scan", str(tmp_path / "nope")]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"aqqua-packer: {tmp_path / 'nope'}: no such file or folder"
    )


@pytest.mark.slow
def test_scan_check_and_pack_accept_the_same_zip_and_single_file(shared_fixtures, tmp_path, capsys):
    import zipfile

    z = tmp_path / "scope.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(shared_fixtures / "microscopy" / "s_1_t_1_c_1_z_1.ome.tiff", "s1.ome.tiff")
    adc = shared_fixtures / "ifcb" / "D20130526T095207_IFCB013.adc"
    user = [
        "latitude=41.3",
        "longitude=-70.5",
        "depth=4",
        "pixel_size=3.4",
        "pixel_size.unit=px/um",
        "timezone=UTC",
    ]
    sets = [a for s in user for a in ("--set", s)]
    for src, n in ((z, 1), (adc, 19)):
        code, out = _json(capsys, src)
        assert code == 0 and out["images"] == n
        assert main(["check", "--quiet", "--json", str(src), *sets]) == 0
        assert json.loads(capsys.readouterr().out)["images"] == n
        pkg = tmp_path / f"pkg-{src.stem}"
        assert main(["pack", str(src), "--out", str(pkg), "--workers", "1", "--quiet", *sets]) == 0
        assert main(["verify", str(pkg)]) == 0
        capsys.readouterr()
