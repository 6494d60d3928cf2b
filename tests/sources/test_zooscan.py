"""ZooScan: the real ZooProcess EcoTaxa export (fixture m106_mn01_n1_sml) and ZooProcess projects.

No public ZooProcess project is small enough to ship, so ``zooprocess_project`` (in
ecotaxa_builders.py) writes one the way ZooProcess lays it out: Zooscan_meta header tables
(';', latin-1, CRLF, DD.MM coordinates with the longitude sign flipped, 99999 = not measured),
_work/<scan>/ vignettes, .pid files (INI sections then a ';' [Data] table), ZooProcess's
ecotaxa_<scan>.tsv and the _vis1.zip copy of the vignettes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ecotaxa_builders import zooprocess_project

from aqqua_packer.mapping.apply import apply_mapping
from aqqua_packer.mapping.model import Mapping
from aqqua_packer.progress import null_task
from aqqua_packer.sources import zooscan
from aqqua_packer.sources.pixels import load_image
from aqqua_packer.sources.registry import detect_all, scan_path


def mapped(s):
    m = apply_mapping([s], Mapping())
    return m, m.converted.set_index("image-filename")


def test_zooscan_fixture_is_recognised_as_a_zooprocess_ecotaxa_export(shared_fixtures):
    path = shared_fixtures / "zooscan" / "m106_mn01_n1_sml"
    name, det = detect_all(path)[0]
    assert name == "zooscan" and "ZooProcess" in det.reason
    [s] = scan_path(path)
    assert s.kind == "zooscan" and s.sensor == "ZooScan"
    assert s.label == "ZooScan (EcoTaxa export) m106_mn01_n1_sml"
    assert len(s.images) == 5
    assert all(load_image(im).array.shape[0] == 3 for im in s.images)  # RGB JPEG vignettes


def test_zooscan_fixture_values_match_what_zooprocess_wrote(shared_fixtures):
    [s] = scan_path(shared_fixtures / "zooscan" / "m106_mn01_n1_sml")
    m, c = mapped(s)
    # row 409 is off Tasmania at the instant the other four are off Cape Verde: suspicious
    assert m.ready.sum() == 4
    assert {p.kind for p in m.problems if p.severity == "error"} == {"ship_speed"}
    r = c.loc["m106_mn01_n1_sml_409.jpg"]
    assert r["image-latitude"] == pytest.approx(-44.725, abs=1e-3)
    assert r["image-longitude"] == pytest.approx(145.535, abs=1e-3)
    assert (r["image-depth-min-meters"], r["image-depth-max-meters"]) == (600.0, 1000.0)
    assert r["image-pixel-size-micrometers"] == pytest.approx(10.6)
    assert str(r["image-datetime"]) == "2014-04-20 04:20:00+00:00"  # object_time 420
    assert (c["image-pixel-size-micrometers"] == 10.6).all()


def test_project_packs_vignettes_and_sets_aside_vis_zip_copies_and_raw_scans(tmp_path):
    root = zooprocess_project(tmp_path / "Zooscan_m106")
    name, det = detect_all(root)[0]
    assert name == "zooscan" and det.confidence >= 0.9
    [s] = scan_path(root)
    assert sorted(im.name.rsplit("/", 1)[-1] for im in s.images) == [
        "m106_mn01_n1_big_3.jpg",
        "m106_mn01_n1_big_7.jpg",
        "m106_mn01_n1_big_9.jpg",
        "m106_mn01_n1_sml_409.jpg",
        "m106_mn01_n1_sml_821.jpg",
    ]
    vis = [a for a in s.set_aside if "_vis1.zip" in a.path]
    assert len(vis) == 5 and all(
        a.kept and a.kept.endswith(a.path.rsplit(" › ", 1)[1]) for a in vis
    )
    assert any(
        a.path.endswith("_raw_1.tif") and "full ZooScan scan" in a.reason for a in s.set_aside
    )
    assert all(not im.members for im in s.images)  # the plain vignette, not the zip copy


def test_project_headers_join_every_row_and_ddmm_with_flipped_longitude_is_decoded(tmp_path):
    [s] = scan_path(zooprocess_project(tmp_path / "Zooscan_m106"))
    assert s.rows["hdr:latitude"].eq("-44.4352").all()
    assert s.rows["scanhdr:fracid"].isin(["sml", "big"]).all()
    assert s.rows["pid:Resolution"].eq("2400").all()
    assert s.rows["hdr:sample_comment"].eq("é test").all()  # latin-1
    f = s.suggested["fields"]
    assert f["longitude"]["format"] == "ddmm" and f["longitude"]["negate"] is True
    assert f["pixel_size"]["unit"] == "dpi"
    m, c = mapped(s)
    assert m.ready.all()
    assert c["image-latitude"].round(4).eq(-44.7253).all()  # 44°43.52'S
    assert c["image-longitude"].round(4).eq(145.5352).all()  # written -145.3211
    assert c["image-pixel-size-micrometers"].round(2).eq(10.58).all()  # 2400 dpi
    assert c["image-depth-min-meters"].eq(600).all() and c["image-depth-max-meters"].eq(1000).all()
    assert str(c["image-datetime"].iloc[0]) == "2014-04-20 04:20:00+00:00"


def test_project_whose_scans_all_have_ecotaxa_tables_uses_the_tables(tmp_path):
    [s] = scan_path(zooprocess_project(tmp_path / "Z", with_pid_only=False))
    f = s.suggested["fields"]
    assert f["latitude"]["column"] == "object_lat" and f["pixel_size"]["column"] == "process_pixel"
    m, c = mapped(s)
    assert m.ready.all() and c["image-pixel-size-micrometers"].eq(10.6).all()


def test_99999_in_a_header_means_not_measured(tmp_path):
    root = zooprocess_project(tmp_path / "Z")
    hdr = root / "Zooscan_meta" / "zooscan_sample_header_table.csv"
    hdr.write_bytes(hdr.read_bytes().replace(b";1000;600;", b";1000;99999;"))
    [s] = scan_path(root)
    m = apply_mapping([s], Mapping())
    bad = [p for p in m.problems if p.field == "depth_min"]
    assert bad and all(p.value == "99999" for p in bad)
    assert m.converted["image-depth-min-meters"].isna().all()


def test_pid_without_data_section_is_named(tmp_path):
    root = zooprocess_project(tmp_path / "Z")
    pid = root / "Zooscan_scan" / "_work" / "m106_mn01_n1_big" / "m106_mn01_n1_big_dat1.pid"
    pid.write_bytes(pid.read_bytes().split(b"[Data]")[0])
    [s] = scan_path(root)
    [p] = [p for p in s.problems if p.kind == "bad_file"]
    assert p.file.endswith("m106_mn01_n1_big_dat1.pid") and "[Data]" in p.message
    assert len(s.images) == 2  # the other scan still reads


def test_export_tsv_with_missing_type_line_and_ragged_row_is_named(tmp_path):
    root = zooprocess_project(tmp_path / "Z", with_pid_only=False)
    tsv = root / "Zooscan_scan" / "_work" / "m106_mn01_n1_sml" / "ecotaxa_m106_mn01_n1_sml.tsv"
    lines = tsv.read_bytes().split(b"\n")
    del lines[1]  # the [t]/[f] line
    lines[2] = lines[2].rsplit(b"\t", 3)[0]  # a short row
    tsv.write_bytes(b"\n".join(lines))
    [s] = zooscan.scan(root, null_task())
    kinds = {
        (p.kind, p.row)
        for p in s.problems
        if p.file and p.file.endswith("ecotaxa_m106_mn01_n1_sml.tsv")
    }
    assert ("missing_type_line", 2) in kinds and ("ragged_row", 3) in kinds


def test_empty_folder_is_not_a_zooscan_project(tmp_path):
    assert zooscan.detect(tmp_path).confidence == 0
    (tmp_path / "Zooscan_meta").mkdir()
    [s] = zooscan.scan(tmp_path, null_task())
    assert s.images == [] and any(
        p.kind == "no_images" and p.file == str(tmp_path) for p in s.problems
    )


def test_zip_of_a_zooprocess_export_is_read_in_place(shared_fixtures, tmp_path):
    import zipfile

    src = shared_fixtures / "zooscan" / "m106_mn01_n1_sml"
    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in sorted(src.iterdir()):
            zf.write(p, f"m106/{p.name}")
        zf.writestr("../../outside.jpg", b"x")
    [s] = scan_path(z)
    assert s.kind == "zooscan" and len(s.images) == 5
    assert any(p.kind == "unsafe_path" and p.value == "../../outside.jpg" for p in s.problems)
    assert not (tmp_path.parent.parent / "outside.jpg").exists()
    assert Path(s.images[0].path) == z


def test_a_zipped_zooprocess_project_is_read_in_place(tmp_path):
    import zipfile

    src = zooprocess_project(tmp_path / "Zooscan_m106")
    z = tmp_path / "Zooscan_m106.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in sorted(src.rglob("*")):
            if p.is_file():
                zf.write(p, f"Zooscan_m106/{p.relative_to(src).as_posix()}")
        zf.writestr("/etc/evil.jpg", b"x")
    name, det = detect_all(z)[0]
    assert name == "zooscan" and "Zooscan_meta" in det.reason
    [s] = scan_path(z)
    assert len(s.images) == 5 and s.label == "ZooScan Zooscan_m106"
    assert s.rows["hdr:latitude"].eq("-44.4352").all()
    assert any(p.kind == "unsafe_path" and p.value == "/etc/evil.jpg" for p in s.problems)
    assert apply_mapping([s], Mapping()).ready.all()
