"""FlowCam runs: every particle of the list is cut from its collage at its own box; masks are set
aside; the pixel size comes from the calibration constant; local times ask for a time zone."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from aqqua_packer.mapping import apply_mapping, parse_cli_mapping
from aqqua_packer.progress import null_task
from aqqua_packer.sources import flowcam
from aqqua_packer.sources.pixels import load_image
from aqqua_packer.sources.registry import scan_path

RUN = "flowcam_COMICS_DY086_20171118_MSC019_t0_4x"


@pytest.fixture
def run_dir(shared_fixtures) -> Path:
    return shared_fixtures / "flowcam"


@pytest.fixture
def run_copy(run_dir, tmp_path) -> Path:
    d = tmp_path / "run"
    shutil.copytree(run_dir, d)
    for f in d.iterdir():
        f.chmod(0o644)
    return d


def _lst_rows(path: Path) -> list[list[str]]:
    lines = path.read_text(encoding="latin-1").splitlines()
    n = int(lines[1].split("|")[1])
    return [ln.split("|") for ln in lines[2 + n :] if ln]


def test_the_fixture_is_recognised_as_a_flowcam_run(run_dir):
    assert flowcam.detect(run_dir).confidence >= 0.9
    assert flowcam.detect(run_dir / f"{RUN}.lst").confidence >= 0.9
    scans = scan_path(run_dir)
    assert [s.kind for s in scans] == ["flowcam"]


def test_all_506_particles_are_cut_at_their_own_box(run_dir):
    (scan,) = flowcam.scan(run_dir, null_task())
    assert len(scan.images) == 506 and len(scan.rows) == 506
    listed = _lst_rows(run_dir / f"{RUN}.lst")
    for im, rec in zip(scan.images, listed, strict=True):
        assert im.box == tuple(int(v) for v in rec[1:5])
        assert Path(im.path).name == rec[63]
        assert scan.rows.iloc[im.row]["id"] == rec[0]
    assert len({im.box for im in scan.images}) == 506


def test_cut_pixels_are_the_collage_at_the_box(run_dir):
    (scan,) = flowcam.scan(run_dir, null_task())
    collage = np.asarray(Image.open(run_dir / f"{RUN}_000001.tif"))
    for im in scan.images[::101]:
        x, y, w, h = im.box
        arr = load_image(im).array
        assert arr.shape == (3, h, w)
        assert np.array_equal(arr, np.moveaxis(collage[y : y + h, x : x + w], -1, 0))


def test_the_mask_collage_is_set_aside_with_a_reason(run_dir):
    (scan,) = flowcam.scan(run_dir, null_task())
    (aside,) = scan.set_aside
    assert aside.path.endswith(f"{RUN}_000001_bin.tif")
    assert "mask" in aside.reason and aside.kept == f"{RUN}_000001.tif"
    assert not any(im.path.endswith("_bin.tif") for im in scan.images)


def test_pixel_size_is_the_calibration_constant_and_time_asks_for_a_zone(run_dir):
    scans = flowcam.scan(run_dir, null_task())
    assert any(p.kind == "needs_timezone" for p in scans[0].problems)
    given = parse_cli_mapping(
        [], ["latitude=50.1", "longitude=-4.2", "depth=5", "timezone=Europe/London"]
    )
    given.accepted = ["sources_disagree"]  # run named 20171118, list timed 2019-10-08
    mapped = apply_mapping(scans, given)
    assert mapped.ready.all() and len(mapped.items) == 506
    assert mapped.converted["image-pixel-size-micrometers"].eq(1.8130).all()
    first = mapped.converted["image-datetime"].iloc[0]
    assert first == pd.Timestamp("2019-10-08T14:23:07.847+01:00"), "BST: 14:23 local is 13:23 UTC"


def test_ctx_and_run_summary_give_calibration_and_position(run_copy):
    (run_copy / f"{RUN}.ctx").write_bytes(
        "[General]\nSoftware=VisualSpreadsheet\n[Fluid]\nCalibrationConstant=1.8130\n"
        "[RunSummary]\nLocationLatitude=48°22.5' N\nLocationLongitude=-4.55\nRunStartTime=2017-11-18 10:01:02\n"
        "Comment=caf\xe9\n".encode("latin-1")
    )
    (run_copy / f"{RUN}_run_summary.txt").write_text("Environment:\n\tCalibration Factor: 2.0000\n")
    (scan,) = flowcam.scan(run_copy, null_task())
    assert scan.rows["ctx:Comment"].iloc[0] == "café"
    # Both are µm per pixel (Visual Spreadsheet User Guide): the constant is used, the
    # disagreement with the run summary's Calibration Factor is reported.
    assert scan.rows["flowcam:pixel_size_um"].iloc[0] == "1.813"
    [p] = [p for p in scan.problems if p.kind == "inconsistent"]
    assert p.field == "pixel_size" and p.value == "2" and p.severity == "warning"
    assert scan.suggested["fields"]["latitude"]["column"] == "ctx:LocationLatitude"


def test_csv_export_is_read_with_its_column_names(run_copy):
    (run_copy / f"{RUN}.lst").unlink()
    (run_copy / "export.csv").write_text(
        "Name,Capture ID,Calibration Factor,Image X,Image Y,Image Width,Image Height,Image File,Date,Time\n"
        f"p1,1,1.8130,0,0,59,63,{RUN}_000001.tif,2017-11-18,10:01:02\n"
        f"p2,2,1.8130,61,0,45,47,{RUN}_000001.tif,2017-11-18,10:01:03\n"
    )
    assert flowcam.detect(run_copy).confidence >= 0.8
    (scan,) = flowcam.scan(run_copy, null_task())
    assert [im.box for im in scan.images] == [(0, 0, 59, 63), (61, 0, 45, 47)]
    fields = scan.suggested["fields"]
    assert fields["date"]["column"] == "Date" and fields["time"]["column"] == "Time"
    px = fields["pixel_size"]
    assert px["column"] == "flowcam:pixel_size_um" and px["unit"] == "um"  # Calibration Factor
    given = parse_cli_mapping([], ["latitude=1", "longitude=1", "depth=1", "timezone=UTC"])
    mapped = apply_mapping([scan], given)
    assert mapped.converted["image-datetime"].iloc[1] == pd.Timestamp("2017-11-18T10:01:03Z")
    assert mapped.converted["image-pixel-size-micrometers"].eq(1.8130).all()


def test_a_box_outside_the_collage_names_the_list_row(run_copy):
    lst = run_copy / f"{RUN}.lst"
    text = lst.read_text(encoding="latin-1").replace("\n2|61|0|45|47|", "\n2|61|5000|45|47|", 1)
    lst.write_text(text, encoding="latin-1")
    (scan,) = flowcam.scan(run_copy, null_task())
    assert len(scan.images) == 505
    bad = [p for p in scan.problems if p.kind == "bad_table"]
    assert len(bad) == 1 and bad[0].row == 69 and "outside the 1200x1920 collage" in bad[0].message


def test_a_missing_collage_is_one_problem_naming_it(run_copy):
    (run_copy / f"{RUN}_000001.tif").unlink()
    (scan,) = flowcam.scan(run_copy, null_task())
    assert scan.images == []
    bad = [p for p in scan.problems if p.kind == "bad_file"]
    assert len(bad) == 1 and f"{RUN}_000001.tif" in bad[0].message


def test_a_collage_changed_on_disk_is_decoded_again(tmp_path):
    from aqqua_packer.sources.base import ImageRef

    path = tmp_path / "c.png"
    Image.fromarray(np.full((10, 20), 7, dtype=np.uint8)).save(path)
    ref = ImageRef(name="p", path=str(path), box=(2, 3, 4, 5))
    first = load_image(ref).array
    assert first.shape == (5, 4) and (first == 7).all()
    first[:] = 0  # the caller's copy; the cached collage is untouched
    assert (load_image(ref).array == 7).all()
    Image.fromarray(np.full((10, 21), 9, dtype=np.uint8)).save(path)
    assert (load_image(ref).array == 9).all()


def test_an_old_colon_separated_list_is_read_by_position(run_copy):
    rows = _lst_rows(run_copy / f"{RUN}.lst")[:3]
    (run_copy / f"{RUN}.lst").unlink()
    lines = ["016", "0"]
    for rec in rows:
        v = dict(zip(flowcam.OLD_47, ["0"] * 47, strict=True))
        v.update(
            id=rec[0],
            cal_const=rec[11],
            collage_file=rec[63],
            image_x=rec[1],
            image_y=rec[2],
            image_w=rec[3],
            image_h=rec[4],
        )
        lines.append(":".join(v[k] for k in flowcam.OLD_47))
    (run_copy / "old.lst").write_text("\n".join(lines) + "\n")
    assert flowcam.detect(run_copy).confidence >= 0.9
    (scan,) = flowcam.scan(run_copy, null_task())
    assert [im.box for im in scan.images] == [tuple(int(x) for x in r[1:5]) for r in rows]
    assert scan.rows["flowcam:pixel_size_um"].tolist() == ["1.813"] * 3
    assert scan.rows["__row__"].tolist() == [3, 4, 5]
