"""`inventory`: every dataset below some folders, one row per recognised part, for the data sharing
form.  The tree is made of the real instrument fixtures in ../shared/fixtures, each in its own
sub-folder, some nested two levels, the ZooScan export zipped, and a broken zip
(tests/inventory_tree.py)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from inventory_tree import SHARED_FIXTURES, make_tree

from aqqua_packer.cli import main
from aqqua_packer.inventory import (
    CSV_COLUMNS,
    _lon_span,
    estimated_package_bytes,
    inventory,
    recommended_transfer,
)
from aqqua_packer.package.write import PackOptions
from aqqua_packer.progress import Cancelled, Task
from aqqua_packer.workflow import Request, check, pack, scan

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("absent: ../shared/fixtures is not present")
    return make_tree(tmp_path_factory.mktemp("disk") / "disk", SHARED_FIXTURES)


@pytest.fixture(scope="module")
def inv(tree):
    return inventory([tree])


def by_kind(inv) -> dict:
    return {r.kind: r for r in inv.datasets}


# --- what it finds -------------------------------------------------------------------------------
def test_one_row_per_dataset_with_its_kind_and_image_count(inv, tree):
    rows = by_kind(inv)
    assert len(inv.datasets) == 5
    assert {k: r.images for k, r in rows.items()} == {
        "ifcb": 19,
        "flowcam": 506,
        "microscopy": 1,
        "uvp6": 15,
        "zooscan": 5,
    }
    assert rows["ifcb"].path == str(tree / "2013" / "ifcb-day")
    assert rows["zooscan"].path == str(tree / "cruises" / "m106")  # read inside the zip
    assert rows["ifcb"].instrument == "IFCB (IFCB013)"


def test_each_row_has_the_time_span_the_instrument_wrote(inv):
    rows = by_kind(inv)
    # IFCB: the bin name and sampleTime, UTC (fixtures README)
    assert (rows["ifcb"].first, rows["ifcb"].last) == ("2013-05-26 09:52:07", "2013-05-26 09:52:07")
    # ZooScan m106: object_date 20140420, object_time 420 = 04:20:00
    assert (rows["zooscan"].first, rows["zooscan"].last) == (
        "2014-04-20 04:20:00",
        "2014-04-20 04:20:00",
    )
    # UVP6: object_date 20200205, images taken over a few minutes
    assert rows["uvp6"].first.startswith("2020-02-05 ") and rows["uvp6"].last.startswith(
        "2020-02-05 "
    )
    assert rows["uvp6"].first < rows["uvp6"].last
    assert all(r.first and r.last and r.first <= r.last for r in inv.datasets)


def test_bounding_box_readiness_and_what_is_missing_most(inv):
    rows = by_kind(inv)
    z = rows["zooscan"]
    assert (
        z.south <= -44.7 <= z.north and z.west <= 145.5 <= z.east
    )  # ZooScan m106, about -44.7 145.5
    # ZooScan: row 409 is off Tasmania at the instant the four others are off Cape Verde
    # (plausibility.py: ship_speed, suspicious until accepted)
    assert (rows["uvp6"].ready_percent, rows["zooscan"].ready_percent) == (100.0, 80.0)
    assert rows["uvp6"].most_missing == ([], 0)
    ifcb = rows["ifcb"]  # no position, depth or pixel size in IFCB files
    assert ifcb.ready == 0 and ifcb.south is None
    assert ifcb.most_missing == (["latitude", "longitude", "altitude", "pixel_size"], 19)
    assert ifcb.most_missing_text() == "latitude, longitude, altitude, pixel_size (19 images)"


def test_inventory_agrees_with_scan_and_check_run_on_each_part_alone(inv):
    for row in inv.datasets:
        alone = scan(Request(sources=[Path(row.path)]))
        assert [s.kind for s in alone] == [row.kind], row.path
        assert sum(len(s.images) for s in alone) == row.images, row.path
        assert check(Request(sources=[Path(row.path)])).n_ready == row.ready, row.path


def test_a_broken_zip_is_a_row_with_its_problem_and_the_rest_is_still_read(inv, tree):
    bad = [r for r in inv.rows if not r.kind]
    assert [r.path for r in bad] == [str(tree / "broken" / "export.zip")]
    assert "cannot open the zip file" in bad[0].problem
    assert inv.total().problem == "1 folder or zip could not be read"


def test_depth_limits_how_far_below_the_root_it_looks(tree):
    shallow = inventory([tree], depth=1)
    assert [r.kind for r in shallow.datasets] == ["uvp6"]  # the others are two levels down
    assert not [r for r in shallow.rows if not r.kind]  # broken/export.zip is two levels down too


def test_a_folder_that_cannot_be_read_is_a_row_and_the_walk_goes_on(tmp_path):
    """chmod 000 stops anyone but root.  Tests may run as root, who reads it anyway: then the CLI
    runs in a process without root's right to ignore permissions (CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH dropped with util-linux's setpriv), where the folder is truly unreadable."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("absent: ../shared/fixtures is not present")
    root = tmp_path / "disk"
    shutil.copytree(SHARED_FIXTURES / "uvp6", root / "uvp6")
    shutil.copytree(SHARED_FIXTURES / "ifcb", root / "locked" / "ifcb")
    os.chmod(root / "locked", 0)
    try:
        cmd = [sys.executable, "-m", "aqqua_packer", "inventory", str(root), "--json", "-q"]
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                pytest.skip(
                    "absent: setpriv (util-linux); as root a folder cannot be made unreadable without it"
                )
            caps = "-dac_override,-dac_read_search"
            cmd = [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", *cmd]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    finally:
        os.chmod(root / "locked", 0o755)
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)["rows"]
    assert [(r["path"], r["kind"], r["images"]) for r in rows if r["kind"]] == [
        (str(root / "uvp6"), "uvp6", 15)
    ]
    locked = [r for r in rows if not r["kind"]]
    assert [r["path"] for r in locked] == [str(root / "locked")]
    assert locked[0]["problem"] == "cannot be read (Permission denied)"


# --- the table for the form ----------------------------------------------------------------------
def test_csv_has_the_forms_columns_one_line_per_row_and_a_total(inv, tmp_path):
    out = inv.to_csv(tmp_path / "for-aqqua.csv")
    with out.open(encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.reader(fh))
    assert tuple(lines[0]) == CSV_COLUMNS
    body, total = lines[1:-1], dict(zip(CSV_COLUMNS, lines[-1], strict=True))
    assert len(body) == len(inv.rows) == 6
    assert total["Folder"] == "TOTAL"
    assert total["Images"] == "546"
    assert (total["First sample (UTC)"], total["Last sample (UTC)"])[0] == "2013-05-26 09:52:07"
    assert total["Last sample (UTC)"].startswith("2020-02-05")
    assert total["Ready now (%)"] == f"{100 * 19 / 546:.1f}"  # UVP6 15 + ZooScan 4 (of 5)
    assert total["Problem"] == "1 folder or zip could not be read"
    ifcb = next(dict(zip(CSV_COLUMNS, r, strict=True)) for r in body if "ifcb" in r[0])
    assert ifcb["Instrument"] == "IFCB (IFCB013)" and ifcb["Images"] == "19"
    assert ifcb["Recommended transfer"].startswith("Cloud drive")
    assert ifcb["South"] == ""  # no position in the files: empty, not 0


def test_the_recommended_transfer_follows_the_package_size():
    gb = 10**9
    assert recommended_transfer(int(19.9 * gb)).startswith("Cloud drive (Nextcloud")
    assert recommended_transfer(20 * gb).startswith("Link service (GigaMove)")
    assert recommended_transfer(200 * gb).startswith("Link service")
    assert recommended_transfer(201 * gb).startswith("Globus or FTP/SFTP")
    assert all("hard drive" in recommended_transfer(n * gb) for n in (1, 50, 5000))


def test_a_cruise_across_the_antimeridian_has_a_narrow_box_not_the_whole_globe():
    import numpy as np

    assert _lon_span(np.array([170.0, 179.5, -179.0, -171.0])) == (170.0, -171.0)
    assert _lon_span(np.array([-10.0, 5.0, 20.0])) == (-10.0, 20.0)


def test_estimated_package_size_is_close_to_the_real_package(tmp_path):
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("absent: ../shared/fixtures is not present")
    for name in ("uvp6", "zooscan/m106_mn01_n1_sml"):
        req = Request(sources=[SHARED_FIXTURES / name], accept=["ship_speed"])
        estimate = estimated_package_bytes(scan(req))
        out = tmp_path / name.replace("/", "-")
        pack(req, out, options=PackOptions(workers=1))
        real = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
        assert 0.75 * real <= estimate <= 1.25 * real, (name, estimate, real)


# --- progress, cancel, the command line ----------------------------------------------------------
def test_progress_counts_datasets_and_cancel_stops_it(tree):
    seen = []
    task = Task(min_interval=0)

    def on_event(ev):
        seen.append(ev)
        if ev.unit == "datasets" and ev.done >= 1:
            task.cancel()

    task.on_event = on_event
    with pytest.raises(Cancelled):
        inventory([tree], task)
    assert any(ev.unit == "datasets" and ev.total == 5 for ev in seen)
    assert max(ev.done for ev in seen if ev.unit == "datasets") < 5


def test_cli_prints_json_writes_the_csv_and_explains_itself(tree, tmp_path, capsys):
    out = tmp_path / "list.csv"
    assert main(["inventory", str(tree), "--json", "--csv", str(out), "-q"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["total"]["images"] == 546 and len(d["rows"]) == 6
    assert out.read_text(encoding="utf-8-sig").splitlines()[-1].startswith("TOTAL,")
    with pytest.raises(SystemExit):
        main(["inventory", "--help"])
    text = capsys.readouterr().out
    assert "data sharing form" in text and "example:" in text and "--depth N" in text


def test_cli_text_view_lists_every_dataset_and_the_total(tree, capsys):
    assert main(["inventory", str(tree), "-q"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("5 datasets found")
    assert str(tree / "2013" / "ifcb-day") in text and "TOTAL" in text
    assert "not read: cannot open the zip file" in text


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c63600000000200015de2d6a40000000049454e44ae426082"
)


def test_folders_of_images_no_reader_claims_are_rows_of_their_own(tmp_path, monkeypatch):
    """A folder of images with a table, and a sub-folder with more: two generic rows, each with
    its own images and table, also when the root is given as a relative path."""
    top = tmp_path / "photos"
    (top / "station2").mkdir(parents=True)
    for i in range(3):
        (top / f"a{i}.png").write_bytes(PNG)
    for i in range(2):
        (top / "station2" / f"b{i}.png").write_bytes(PNG)
    (top / "log.csv").write_text(
        "file,date,time,lat,lon,depth,pixel_size_um\n"
        + "".join(f"a{i}.png,2021-06-0{i + 1},10:00:00,54.1,7.9,5,10\n" for i in range(3))
    )
    monkeypatch.chdir(tmp_path)
    inv = inventory([Path("photos")])
    assert [(Path(r.path).name, r.kind, r.images) for r in inv.rows] == [
        ("photos", "generic", 3),
        ("station2", "generic", 2),
    ]
    top_row = inv.rows[0]
    assert (top_row.first, top_row.last) == ("2021-06-01 10:00:00", "2021-06-03 10:00:00")
    assert top_row.ready == 3 and (top_row.south, top_row.west) == (54.1, 7.9)
    assert inv.rows[1].ready == 0 and inv.rows[1].first == ""


def test_size_on_disk_counts_each_zip_collage_and_table_once(inv, tree):
    rows = by_kind(inv)
    # UVP6: 15 images and the table, all inside one zip
    assert rows["uvp6"].bytes_on_disk == (tree / "uvp6" / "b_da_19_Images.zip").stat().st_size
    # FlowCam: 506 particles cut from one collage, plus the particle list (the mask is set aside)
    flowcam = tree / "lab" / "flowcam"
    stem = "flowcam_COMICS_DY086_20171118_MSC019_t0_4x"
    assert rows["flowcam"].bytes_on_disk == sum(
        (flowcam / n).stat().st_size for n in (f"{stem}_000001.tif", f"{stem}.lst")
    )
