"""UVP5 projects.  No public sample exists: ``uvp5_generator.uvp5_project`` writes one faithfully
(header row values of a real Zooprocess-UVP5 header, the folder layout, .pid/datfile formats)."""

from __future__ import annotations

import pytest
from uvp5_generator import uvp5_project

from aqqua_packer.mapping.apply import apply_mapping
from aqqua_packer.mapping.model import Mapping
from aqqua_packer.progress import null_task
from aqqua_packer.sources import uvp5
from aqqua_packer.sources.registry import detect_all, scan_path


def test_project_is_recognised_from_its_meta_header(tmp_path):
    root = uvp5_project(tmp_path / "uvp5_sn002zd_omer_2")
    name, det = detect_all(root)[0]
    assert name == "uvp5" and "uvp5_header_sn002zd_omer_2.txt" in det.reason


def test_vignettes_are_linked_to_their_pid_rows_and_raw_images_are_not_packed(tmp_path):
    [s] = scan_path(uvp5_project(tmp_path / "p"))
    assert s.kind == "uvp5" and s.sensor == "UVP5 sn002zd_omer_2"
    assert [im.name for im in s.images] == [
        "work/omer2_1/omer2_1_1.jpg",
        "work/omer2_1/omer2_1_2.jpg",
        "work/omer2_1/omer2_1_5.jpg",
        "work/omer2_2/omer2_2_3.jpg",
    ]
    assert [s.rows.iloc[im.row]["Item"] for im in s.images] == ["1", "2", "5", "3"]
    assert s.rows["__row__"].iloc[0] == 11  # the first [Data] row's line in the .pid
    assert not any(im.name.startswith("raw/") for im in s.images)


def test_header_and_configuration_values_join_every_row(tmp_path):
    [s] = scan_path(uvp5_project(tmp_path / "p"))
    r = s.rows.set_index("Item")
    assert r.loc["1", "hdr:latitude"] == "43.4111" and r.loc["3", "hdr:latitude"] == "43.4150"
    assert r.loc["3", "hdr:comment"] == "é comment"  # latin-1
    assert s.rows["cfg:pixel"].eq("0.174").all()
    assert r.loc["5", "datfile:pressure_dbar"] == "45.2"


def test_values_after_mapping_ddmm_pixel_in_mm_and_time_from_the_raw_image_name(tmp_path):
    [s] = scan_path(uvp5_project(tmp_path / "p"))
    f = s.suggested["fields"]
    assert f["latitude"]["format"] == "ddmm" and f["pixel_size"]["unit"] == "mm"
    m = apply_mapping([s], Mapping())
    assert m.ready.all()
    c = m.converted.set_index("image-filename")
    first = c.loc["work/omer2_1/omer2_1_1.jpg"]
    assert first["image-latitude"] == pytest.approx(43 + 41.11 / 60)  # 43.4111 = 43°41.11'
    assert first["image-longitude"] == pytest.approx(7 + 19.01 / 60)
    assert first["image-pixel-size-micrometers"] == pytest.approx(174.0)
    assert str(first["image-datetime"]) == "2012-05-20 08:05:14+00:00"
    assert first["image-depth-meters"] == pytest.approx(13.6)
    assert c.loc["work/omer2_1/omer2_1_5.jpg", "image-depth-meters"] == pytest.approx(45.2)


def test_profiles_with_ecotaxa_tables_are_a_separate_part_with_their_own_mapping(tmp_path):
    scans = scan_path(uvp5_project(tmp_path / "p", with_ecotaxa_profile=True))
    assert [s.label for s in scans] == ["UVP5 p (EcoTaxa tables)", "UVP5 p (.pid files)"]
    assert [len(s.images) for s in scans] == [1, 4]
    m = apply_mapping(scans, Mapping())
    assert m.ready.all()
    assert str(m.converted["image-datetime"].iloc[0]) == "2021-06-11 09:30:15+00:00"


def test_a_pid_without_data_and_a_missing_vignette_are_named(tmp_path):
    root = uvp5_project(tmp_path / "p")
    pid = root / "work" / "omer2_2" / "omer2_2_dat1.pid"
    pid.write_bytes(pid.read_bytes().split(b"[Data]")[0])
    (root / "work" / "omer2_1" / "omer2_1_2.jpg").unlink()
    [s] = uvp5.scan(root, null_task())
    bad = [p for p in s.problems if p.kind == "bad_file"]
    assert len(bad) == 1 and bad[0].file.endswith("omer2_2_dat1.pid") and "[Data]" in bad[0].message
    [miss] = [p for p in s.problems if p.kind == "row_without_image"]
    assert (
        miss.file.endswith("omer2_1_dat1.pid")
        and miss.row == 12
        and "omer2_1_2.jpg" in miss.message
    )
    assert len(s.images) == 2


def test_profile_missing_from_the_header_is_named(tmp_path):
    root = uvp5_project(tmp_path / "p")
    hdr = next((root / "meta").glob("*.txt"))
    hdr.write_bytes(b"\n".join(hdr.read_bytes().split(b"\n")[:2]) + b"\n")
    [s] = uvp5.scan(root, null_task())
    [p] = [p for p in s.problems if p.kind == "missing_header"]
    assert "omer2_2" in p.message and p.file.endswith("meta")


def test_empty_folder_is_not_uvp5(tmp_path):
    assert uvp5.detect(tmp_path).confidence == 0
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "uvp5_header_sn001.txt").write_text(
        "cruise;profileid\n", encoding="latin-1"
    )
    [s] = uvp5.scan(tmp_path, null_task())
    assert s.images == [] and any(
        p.kind == "no_images" and p.file == str(tmp_path) for p in s.problems
    )


def zip_folder(src, z, top: str, extra: dict[str, bytes] | None = None):
    import zipfile

    with zipfile.ZipFile(z, "w") as zf:
        for p in sorted(src.rglob("*")):
            if p.is_file():
                zf.write(p, f"{top}/{p.relative_to(src).as_posix()}")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return z


def test_a_zipped_project_is_read_in_place_and_dotdot_members_are_refused(tmp_path):
    src = uvp5_project(tmp_path / "uvp5_sn002zd_omer_2")
    z = zip_folder(src, tmp_path / "cruise.zip", "uvp5_sn002zd_omer_2", {"../../evil.jpg": b"x"})
    name, det = detect_all(z)[0]
    assert name == "uvp5" and "cruise.zip" in det.reason
    [s] = scan_path(z)
    assert len(s.images) == 4 and all(im.members for im in s.images)
    assert s.label == "UVP5 cruise"
    [p] = [p for p in s.problems if p.kind == "unsafe_path"]
    assert p.file == str(z) and p.value == "../../evil.jpg"
    assert not (tmp_path.parent / "evil.jpg").exists()
    m = apply_mapping([s], Mapping())
    assert m.ready.all()
    assert m.converted["image-latitude"].iloc[0] == pytest.approx(43 + 41.11 / 60)


def test_the_pid_label_column_is_never_suggested_as_the_taxon_label(tmp_path):
    """In a .pid, "Label" names the raw image an object was cut from; packing it as the
    object's taxon would be wrong, so neither it nor a look-alike column is suggested."""
    from aqqua_packer.mapping import Mapping, apply_mapping

    src = uvp5_project(tmp_path / "uvp5_sn002zd_omer_2")
    scans = scan_path(src)
    pid_scans = [s for s in scans if "Label" in s.rows.columns]
    assert pid_scans, "the generated project has .pid rows with a Label column"
    mapped = apply_mapping(pid_scans, Mapping())
    assert "label" not in mapped.mapping.fields


def test_pid_grey_levels_are_never_offered_as_depth_when_the_datfile_is_missing(tmp_path):
    """Without a datfile there is no pressure: the .pid's Min/Max/Mean (grey levels 0-255) must
    not be matched to depth by their names."""
    from aqqua_packer.mapping import Mapping, apply_mapping

    src = uvp5_project(tmp_path / "uvp5_sn002zd_omer_2")
    for dat in src.rglob("*_datfile.txt"):
        dat.unlink()
    scans = [s for s in scan_path(src) if "Min" in s.rows.columns]
    assert scans
    used = apply_mapping(scans, Mapping()).mapping.fields
    assert not {"Min", "Max", "Mean"} & {
        used[k].column for k in ("depth", "depth_min", "depth_max") if k in used
    }
