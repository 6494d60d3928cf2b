"""ZooProcess on a real project (APERO 2023, ../shared/fixtures-real/zooprocess_project).

The field sheet (docs/instruments.md, ZooScan): the sample header (``Zooscan_meta`` table, else
the ``.pid``'s ``[Sample]`` section) gives ``Date`` YYYYMMDD-hhmm (UTC), ``Latitude``/``Longitude``
in degrees.minutes with the longitude's sign flipped (west positive), ``Zmin``/``Zmax`` the net's
depth range in metres (either may be the larger; 99999 = not measured) and ``Vol`` m³; the scan
resolution in dpi gives the pixel size.  The vignettes are absent upstream: stand-ins are cut
here, one per ``[Data]`` row, named ``<Label>_<Item>.jpg`` as ZooProcess names them.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image
from real_samples import checked, columns_used, copy_of

SCAN = "apero2023_tha_bioness_006_st20_n_n7_d2_2_sur_4_1"
PID = f"{SCAN}_dat1.pid"
# [Sample] of the .pid: Latitude= 48.2584, Longitude= 22.2966, Date= 20230614-2251,
# Zmax= 106, Zmin= 55, Vol= 124.5; Resolution= 2400 dpi.
LAT = 48 + 25.84 / 60
LON = -(22 + 29.66 / 60)
WHEN = pd.Timestamp("2023-06-14 22:51", tz="UTC")
PIXEL_UM = 25400 / 2400


def vignettes_for(pid: Path, folder: Path) -> int:
    """Stand-in vignettes for every object row of ``pid``: ``<Label>_<Item>.jpg`` in ``folder``."""
    lines = pid.read_text("latin-1").splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "[Data]")
    names = lines[at + 1].lstrip("!").split(";")
    n = 0
    for line in lines[at + 2 :]:
        if line.strip():
            v = dict(zip(names, line.split(";"), strict=False))
            Image.new("L", (12, 8), 200).save(folder / f"{v['Label']}_{v['Item']}.jpg")
            n += 1
    return n


@pytest.fixture
def project(tmp_path) -> Path:
    """The real project with the scan laid out as ZooProcess does: work/<scan>/ .pid + vignettes."""
    root = copy_of("zooprocess_project", tmp_path / "Zooscan_apero")
    scan = root / "work" / SCAN
    scan.mkdir()
    (root / "work" / PID).rename(scan / PID)
    assert vignettes_for(scan / PID, scan) == 439
    return root


def edit_pid(pid: Path, **values: str) -> None:
    """Change ``key= value`` lines of the .pid's header sections (the way a lab's pid may differ)."""
    text = pid.read_text("latin-1")
    head, data = text.split("[Data]", 1)
    lines = head.split("\n")
    for i, line in enumerate(lines):
        key = line.partition("=")[0].strip()
        if key in values:
            lines[i] = f"{key}= {values[key]}"
    pid.write_text("\n".join(lines) + "[Data]" + data, encoding="latin-1")


def assert_sample_values(c: pd.DataFrame) -> None:
    assert c["image-latitude"].sub(LAT).abs().max() < 1e-4
    assert c["image-longitude"].sub(LON).abs().max() < 1e-4
    assert (c["image-datetime"] == WHEN).all()
    assert (c["image-depth-min-meters"] == 55).all() and (c["image-depth-max-meters"] == 106).all()
    assert c["image-pixel-size-micrometers"].sub(PIXEL_UM).abs().max() < 1e-6
    assert (c["image-volume-sampled-liters"] == 124.5 * 1000).all()  # Vol is m³


def test_scan_without_a_zooscan_meta_row_takes_the_pid_sample_section(project):
    m, c = checked(project)
    assert len(c) == 439 and m.ready.all()
    assert_sample_values(c)
    assert (c["image-sample-id"] == "apero2023_tha_bioness_006_st20_n_n7").all()
    assert any(p.kind == "missing_header" and "[Sample] section" in p.message for p in m.problems)


def test_grey_levels_of_the_pid_data_table_are_never_taken_as_depth(project):
    m, c = checked(project)
    used = columns_used(m)
    assert (used["depth_min"], used["depth_max"]) == ("hdr:zmin", "hdr:zmax")
    # Without any sample header, nothing is offered for depth (Min/Max/Mean are 0-255 grey levels).
    pid = project / "work" / SCAN / PID
    text = pid.read_text("latin-1")
    start, end = text.index("[Sample]"), text.index("[Fraction]")
    pid.write_text(text[:start] + text[end:], encoding="latin-1")
    m, c = checked(project / "work" / SCAN)
    used = columns_used(m)
    assert not {"Min", "Max", "Mean"} & {used.get(k) for k in ("depth", "depth_min", "depth_max")}
    assert "image-depth-min-meters" not in c.columns or c["image-depth-min-meters"].isna().all()


@pytest.mark.parametrize("given", ["work", f"work/{SCAN}"])
def test_a_work_folder_given_alone_reads_its_scans(project, given):
    m, c = checked(project / given)
    assert len(c) == 439 and m.ready.all()
    assert_sample_values(c)


def test_a_work_folder_with_the_pid_beside_its_vignettes_reads_the_scan(tmp_path):
    """As the sample came: work/<scan>_dat1.pid, vignettes next to it."""
    root = copy_of("zooprocess_project", tmp_path / "Zooscan_apero")
    assert vignettes_for(root / "work" / PID, root / "work") == 439
    for src in (root, root / "work"):
        m, c = checked(src)
        assert len(c) == 439 and m.ready.all()
        assert_sample_values(c)


def test_zmin_larger_than_zmax_still_gives_the_range_top_to_bottom(project):
    edit_pid(project / "work" / SCAN / PID, Zmin="106", Zmax="55")
    _, c = checked(project)
    assert (c["image-depth-min-meters"] == 55).all() and (c["image-depth-max-meters"] == 106).all()


def test_99999_depth_is_not_measured_never_a_depth(project):
    edit_pid(project / "work" / SCAN / PID, Zmin="99999", Zmax="99999")
    m, c = checked(project)
    assert c["image-depth-min-meters"].isna().all() and c["image-depth-max-meters"].isna().all()
    assert not m.ready.any()  # altitude unknown: asked of the user, not packed as 99999 m


def rename_scan(project, scan_id: str) -> None:
    """The real scan's work folder, .pid and vignettes under another scan id."""
    old = project / "work" / SCAN
    text = (old / PID).read_text("latin-1").replace(SCAN, scan_id)
    new = project / "work" / scan_id
    new.mkdir()
    (new / f"{scan_id}_dat1.pid").write_text(text, encoding="latin-1")
    vignettes_for(new / f"{scan_id}_dat1.pid", new)
    for f in old.iterdir():
        f.unlink()
    old.rmdir()


def test_sample_header_table_row_wins_with_the_same_conventions(project):
    """A scan the Zooscan_meta tables list: sample ..._016_st55_d_n9, scan ..._d2_1_sur_1_1."""
    sample = "apero2023_tha_bioness_sup2000_016_st55_d_n9"
    scan_id = f"{sample}_d2_1_sur_1_1"
    rename_scan(project, scan_id)
    m, c = checked(project)
    assert len(c) == 439 and m.ready.all()
    # table row: 20230702-0810; 51.0973; 18.5277; zmax 19, zmin 0
    assert c["image-latitude"].sub(51 + 9.73 / 60).abs().max() < 1e-4
    assert c["image-longitude"].sub(-(18 + 52.77 / 60)).abs().max() < 1e-4
    assert (c["image-datetime"] == pd.Timestamp("2023-07-02 08:10", tz="UTC")).all()
    assert (c["image-depth-min-meters"] == 0).all() and (c["image-depth-max-meters"] == 19).all()
    assert (c["image-sample-id"] == sample).all()
    assert not math.isnan(c["image-pixel-size-micrometers"].iloc[0])


def test_check_json_on_the_work_folder_reports_every_vignette_ready_with_header_columns(
    project, capsys
):
    """The CLI as a user runs it: ``aqqua-packer check work/<scan> --json``."""
    import json

    from aqqua_packer.cli import main

    assert main(["check", str(project / "work" / SCAN), "-q", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["images"] == data["ready"] == 439
    mapping = data["mapping"]
    assert mapping["latitude"]["column"] == "hdr:latitude"
    assert mapping["latitude"]["format"] == "ddmm"
    assert mapping["longitude"]["negate"] is True
    assert mapping["depth_min"]["column"] == "hdr:zmin"
    assert mapping["datetime"]["column"] == "hdr:date"


def test_a_sample_whose_name_starts_the_scans_name_only_by_chance_is_not_its_header(project):
    """Zooscan_meta lists ..._st46_d_n1; a scan of ..._st46_d_n10 (not listed) is not its
    sample: its header comes from its own .pid, not from n1's row."""
    scan_id = "apero2023_tha_bioness_sup2000_013_st46_d_n10_d2_1_sur_1_1"
    rename_scan(project, scan_id)
    _, c = checked(project)
    assert c["image-latitude"].sub(LAT).abs().max() < 1e-4  # the .pid's, not n1's 47.5076
