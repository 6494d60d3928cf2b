"""The EcoTaxa reader: tables as EcoTaxa writes them, images joined by img_file_name, bad input named."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from ecotaxa_builders import (
    ECOTAXA_HEADER,
    ecotaxa_folder,
    ecotaxa_row,
    png_bytes,
    tsv_text,
    write_tsv,
    zip_bytes,
)
from hypothesis import given
from hypothesis import strategies as st

from aqqua_packer.mapping.apply import apply_mapping
from aqqua_packer.mapping.model import Mapping
from aqqua_packer.problems import UserError
from aqqua_packer.progress import Task, null_task
from aqqua_packer.sources import ecotaxa, ecotaxa_table, listing
from aqqua_packer.sources.base import ROW_COL, TABLE_COL
from aqqua_packer.sources.pixels import load_image
from aqqua_packer.sources.registry import scan_path


def scan(path: Path):
    [s] = ecotaxa.scan(path, null_task())
    return s


def problems_of(s, kind: str):
    return [p for p in s.problems if p.kind == kind]


def converted(s):
    m = apply_mapping([s], Mapping())
    return m, m.converted.set_index("image-filename")


# --- the real fixtures ---------------------------------------------------------------------
def test_uvp6_fixture_read_as_ecotaxa_gives_15_images_with_their_rows(shared_fixtures):
    s = scan(shared_fixtures / "uvp6" / "b_da_19_Images.zip")
    assert len(s.images) == 15
    assert len(s.rows) == 15
    assert {im.members[0] for im in s.images} == {im.name for im in s.images}
    for im in s.images:  # each image is linked to the row that names it
        assert s.rows.iloc[im.row]["img_file_name"] == im.name.split("/", 1)[1]
    assert s.rows[TABLE_COL].iloc[0] == "b_da_19_Images/ecotaxa_b_da_19.tsv"
    assert s.rows[ROW_COL].tolist() == list(range(3, 18))  # line 2 is the type line


def test_uvp6_fixture_values_match_what_uvpapp_wrote(shared_fixtures):
    s = scan(shared_fixtures / "uvp6" / "b_da_19_Images.zip")
    assert s.suggested["fields"]["latitude"]["format"] == "dms"
    m, c = converted(s)
    assert m.ready.all()
    first = c.loc["b_da_19_Images/sub1/20200205-111823_3.png"]
    assert str(first["image-datetime"]) == "2020-02-05 11:18:23+00:00"
    assert first["image-latitude"] == pytest.approx(43.0)  # '43°0 0'
    assert first["image-longitude"] == pytest.approx(17.0)
    assert first["image-pixel-size-micrometers"] == pytest.approx(73.0)
    assert first["image-depth-min-meters"] == pytest.approx(194.63)
    assert first["image-altitude-meters"] == pytest.approx(-194.63)
    assert (c["image-datetime"].dt.strftime("%Y%m%d") == "20200205").all()


def test_uvp6_fixture_pixels_load_from_inside_the_zip(shared_fixtures):
    s = scan(shared_fixtures / "uvp6" / "b_da_19_Images.zip")
    img = load_image(s.images[0])
    assert img.array.dtype.name == "uint8" and img.array.ndim == 2


def test_zooscan_fixture_packs_5_images_once_each_and_reports_rows_sharing_one(shared_fixtures):
    s = scan(shared_fixtures / "zooscan" / "m106_mn01_n1_sml")
    assert len(s.images) == 5
    assert len(s.rows) == 8
    dup = problems_of(s, "duplicate_image")
    assert [p.row for p in dup] == [8, 9, 10]
    assert all("m106_mn01_n1_sml_850.jpg" in p.message and "row 6" in p.message for p in dup)


def test_zooscan_fixture_short_time_420_means_0420(shared_fixtures):
    m, c = converted(scan(shared_fixtures / "zooscan" / "m106_mn01_n1_sml"))
    row = c.loc["m106_mn01_n1_sml_409.jpg"]
    assert str(row["image-datetime"]) == "2014-04-20 04:20:00+00:00"
    assert row["image-latitude"] == pytest.approx(-44.725, abs=1e-3)
    assert row["image-longitude"] == pytest.approx(145.535, abs=1e-3)
    assert row["image-pixel-size-micrometers"] == pytest.approx(10.6)
    assert (row["image-depth-min-meters"], row["image-depth-max-meters"]) == (600.0, 1000.0)


# --- the format's corners ------------------------------------------------------------------
def test_detect_is_confident_for_a_table_with_type_line_and_less_without(tmp_path):
    good = ecotaxa_folder(tmp_path / "good")
    bad = ecotaxa_folder(tmp_path / "bad", types=False)
    assert ecotaxa.detect(good).confidence > ecotaxa.detect(bad).confidence > 0.5
    assert "[t]/[f]" in ecotaxa.detect(good).reason
    assert ecotaxa.detect(tmp_path / "nothing_here.txt").confidence == 0


def test_cr_only_line_ends_and_latin1_degree_sign(tmp_path):
    root = tmp_path / "mac"
    root.mkdir()
    (root / "a.png").write_bytes(png_bytes())
    write_tsv(
        root / "ecotaxa_mac.tsv",
        ECOTAXA_HEADER,
        [ecotaxa_row(0, name="a.png", object_lat="43°41 06.6")],
        newline="\r",
    )
    s = scan(root)
    assert len(s.images) == 1 and s.rows["object_lat"].iloc[0] == "43°41 06.6"
    _, c = converted(s)
    assert c["image-latitude"].iloc[0] == pytest.approx(43 + 41 / 60 + 6.6 / 3600)


def test_utf8_with_bom_is_read_as_utf8(tmp_path):
    root = tmp_path / "bom"
    (root).mkdir()
    (root / "a.png").write_bytes(png_bytes())
    write_tsv(
        root / "ecotaxa_b.tsv",
        ECOTAXA_HEADER,
        [ecotaxa_row(0, name="a.png", object_annotation_category="Noctiluca µ")],
        encoding="utf-8",
        bom=True,
    )
    s = scan(root)
    assert s.columns[0] == "img_file_name"  # no BOM glued to the first name
    assert s.rows["object_annotation_category"].iloc[0] == "Noctiluca µ"


def test_missing_type_line_is_reported_and_line_2_read_as_data(tmp_path):
    s = scan(ecotaxa_folder(tmp_path / "x", types=False))
    [p] = problems_of(s, "missing_type_line")
    assert p.file.endswith("ecotaxa_s1.tsv") and p.row == 2 and "[t]/[f]" in p.message
    assert len(s.images) == 3 and s.rows[ROW_COL].tolist() == [2, 3, 4]


def test_ragged_rows_are_named_by_file_and_row_and_left_out(tmp_path):
    root = ecotaxa_folder(tmp_path / "x", n=3)
    text = tsv_text(
        ECOTAXA_HEADER, [ecotaxa_row(0), ecotaxa_row(1)[:5], ecotaxa_row(2) + ["extra"]]
    )
    (root / "ecotaxa_s1.tsv").write_text(text, encoding="latin-1")
    s = scan(root)
    ragged = problems_of(s, "ragged_row")
    assert [(Path(p.file).name, p.row) for p in ragged] == [
        ("ecotaxa_s1.tsv", 4),
        ("ecotaxa_s1.tsv", 5),
    ]
    assert "5 values but 12 column names" in ragged[0].message
    assert [im.name for im in s.images] == ["obj_0.png"]
    assert any(
        a.path.endswith("obj_1.png") for a in s.set_aside
    )  # unnamed now: set aside, not lost


def test_img_file_name_is_relative_to_the_tables_folder(tmp_path):
    root = tmp_path / "export"
    (root / "sample_a" / "imgs").mkdir(parents=True)
    (root / "sample_a" / "imgs" / "x.png").write_bytes(png_bytes())
    write_tsv(
        root / "sample_a" / "ecotaxa_a.tsv", ECOTAXA_HEADER, [ecotaxa_row(0, name="imgs\\x.png")]
    )
    s = scan(root)
    assert [im.name for im in s.images] == ["sample_a/imgs/x.png"]


@pytest.mark.parametrize("first_rank", [0, 1])
def test_lowest_img_rank_is_packed_and_other_ranks_set_aside(tmp_path, first_rank):
    root = tmp_path / "ranks"
    root.mkdir()
    r = first_rank
    rows = [
        ecotaxa_row(0, name="o1_scale.png", oid="o1", rank=str(r + 1)),
        ecotaxa_row(0, name="o1.png", oid="o1", rank=str(r)),
        ecotaxa_row(0, name="o2.png", oid="o2", rank=str(r)),
    ]
    for n in ("o1_scale.png", "o1.png", "o2.png"):
        (root / n).write_bytes(png_bytes())
    write_tsv(root / "ecotaxa_r.tsv", ECOTAXA_HEADER, rows)
    s = scan(root)
    assert sorted(im.name for im in s.images) == ["o1.png", "o2.png"]
    [aside] = s.set_aside
    assert aside.path.endswith("o1_scale.png") and aside.kept == "o1.png"
    assert (
        f"img_rank {r + 1} of object o1" in aside.reason and f"rank {r} is packed" in aside.reason
    )


def test_zips_inside_zips_are_read_in_place(tmp_path):
    inner = zip_bytes(
        {
            "ecotaxa_in.tsv": tsv_text(ECOTAXA_HEADER, [ecotaxa_row(0, name="p/a.png")]).encode(
                "latin-1"
            ),
            "p/a.png": png_bytes(value=77),
        }
    )
    outer = tmp_path / "outer.zip"
    outer.write_bytes(zip_bytes({"batch/inner.zip": inner}))
    s = scan(outer)
    [im] = s.images
    assert im.name == "batch/inner.zip/p/a.png"
    assert im.members == ("batch/inner.zip", "p/a.png")
    assert load_image(im).array.shape == (9, 12)
    assert list(tmp_path.iterdir()) == [outer]  # nothing extracted


def test_zip_member_with_dotdot_or_absolute_name_is_refused_and_never_written(tmp_path):
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(
            "ecotaxa_e.tsv",
            tsv_text(
                ECOTAXA_HEADER,
                [ecotaxa_row(0, name="ok.png"), ecotaxa_row(1, name="../escape.png")],
            ),
        )
        zf.writestr("ok.png", png_bytes())
        zf.writestr("../escape.png", png_bytes())
        zf.writestr("/abs/evil.png", png_bytes())
    before = sorted(p.name for p in tmp_path.parent.iterdir())
    s = scan(z)
    assert [im.name for im in s.images] == ["ok.png"]
    unsafe = problems_of(s, "unsafe_path")
    assert {p.value for p in unsafe} >= {"../escape.png", "/abs/evil.png"}
    assert all("outside" in p.message for p in unsafe)
    assert any(p.row == 4 and p.field == "image" for p in unsafe)  # the row naming ../escape.png
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == before
    assert not (tmp_path.parent / "escape.png").exists() and not Path("/abs/evil.png").exists()


def test_empty_folder_says_it_is_empty(tmp_path):
    (tmp_path / "empty").mkdir()
    s = scan(tmp_path / "empty")
    [p] = s.problems
    assert p.kind == "empty" and p.file.endswith("empty") and "empty" in p.message
    assert s.images == []


def test_an_empty_table_is_named(tmp_path):
    root = tmp_path / "e"
    root.mkdir()
    (root / "ecotaxa_e.tsv").write_bytes(b"")
    s = scan(root)
    assert any(
        p.kind == "bad_table" and p.file.endswith("ecotaxa_e.tsv") and "empty" in p.message
        for p in s.problems
    )


def test_rows_naming_missing_images_are_reported_by_row(tmp_path):
    root = ecotaxa_folder(tmp_path / "x", n=2)
    (root / "obj_1.png").unlink()
    s = scan(root)
    [p] = problems_of(s, "row_without_image")
    assert p.row == 4 and "obj_1.png" in p.message


@pytest.mark.parametrize(
    ("column", "value", "unit", "expected"),
    [
        ("process_pixel", "10.6", "um", 10.6),
        ("acq_pixel", "73", "um", 73.0),
        ("acq_pixel", "0.174", "mm", 174.0),
        ("process_particle_pixel_size_mm", "0.0106", "mm", 10.6),
        ("process_particle_pixel_size_um", "1.01", "um", 1.01),
    ],
)
def test_pixel_size_column_and_unit_are_suggested(tmp_path, column, value, unit, expected):
    header = [h for h in ECOTAXA_HEADER if h != "process_pixel"] + [column]
    row = ecotaxa_row(0, name="a.png")[: len(ECOTAXA_HEADER) - 1] + [value]
    root = tmp_path / "p"
    root.mkdir()
    (root / "a.png").write_bytes(png_bytes())
    write_tsv(root / "ecotaxa_p.tsv", [*header[:10], *header[10:]], [row[:10] + row[10:]])
    s = scan(root)
    px = s.suggested["fields"]["pixel_size"]
    assert (px["column"], px["unit"]) == (column, unit)
    _, c = converted(s)
    assert c["image-pixel-size-micrometers"].iloc[0] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("date", "time", "expected"),
    [
        ("20200205", "111823", "2020-02-05 11:18:23+00:00"),
        ("2020-02-05", "11:18:23", "2020-02-05 11:18:23+00:00"),
        ("20200205", "1118", "2020-02-05 11:18:00+00:00"),
        ("20200205", "420", "2020-02-05 04:20:00+00:00"),
    ],
)
def test_object_date_and_time_forms(tmp_path, date, time, expected):
    root = tmp_path / "d"
    root.mkdir()
    (root / "a.png").write_bytes(png_bytes())
    write_tsv(
        root / "ecotaxa_d.tsv",
        ECOTAXA_HEADER,
        [ecotaxa_row(0, name="a.png", object_date=date, object_time=time)],
    )
    _, c = converted(scan(root))
    assert str(c["image-datetime"].iloc[0]) == expected


def test_scan_reports_progress_and_can_be_cancelled(tmp_path):
    root = ecotaxa_folder(tmp_path / "x", n=3)
    events = []
    task = Task(on_event=events.append)
    ecotaxa.scan(root, task)
    assert events[0].phase == "scan" and events[-1].finished
    task.cancel()
    from aqqua_packer.progress import Cancelled

    with pytest.raises(Cancelled):
        ecotaxa.scan(root, task)


def test_registry_picks_the_ecotaxa_reader_for_a_plain_export(tmp_path):
    [s] = scan_path(ecotaxa_folder(tmp_path / "x"))
    assert s.kind == "ecotaxa" and len(s.images) == 3


def test_unreadable_table_in_a_zip_names_the_zip_and_member(tmp_path):
    z = tmp_path / "bad.zip"
    z.write_bytes(b"PK\x03\x04 not really a zip")
    s = scan(z)
    assert any(p.kind == "bad_file" and p.file == str(z) for p in s.problems)
    with pytest.raises(UserError):
        ecotaxa_table.read_tsv_text("", "x.tsv", "x.tsv")


def test_a_single_tsv_file_reads_the_images_beside_it(tmp_path):
    root = ecotaxa_folder(tmp_path / "x", n=2)
    [s] = scan_path(root / "ecotaxa_s1.tsv")
    assert s.kind == "ecotaxa" and sorted(im.name for im in s.images) == ["obj_0.png", "obj_1.png"]


@given(
    st.lists(
        st.sampled_from(["..", ".", "a", "b.png", "", "C:", "\\", "/"]), min_size=1, max_size=6
    )
)
def test_a_zip_member_name_that_is_not_refused_stays_inside_any_target(parts):
    """Whatever a zip calls a member, a name the reader accepts can never leave a target folder."""
    name = "/".join(parts)
    if listing.unsafe_member_name(name):
        return
    target = Path("/target/dir")
    joined = Path(os.path.normpath(target / name.replace("\\", "/")))
    assert joined == target or target in joined.parents


def test_a_folder_of_several_ecotaxa_family_sources_splits_into_one_part_each(
    shared_fixtures, tmp_path
):
    import shutil

    from ecotaxa_builders import planktoscope_data
    from uvp5_generator import uvp5_project

    ship = tmp_path / "ship"
    (ship / "uvp6").mkdir(parents=True)
    shutil.copy(shared_fixtures / "uvp6" / "b_da_19_Images.zip", ship / "uvp6")
    shutil.copytree(shared_fixtures / "zooscan" / "m106_mn01_n1_sml", ship / "zooscan_export")
    planktoscope_data(ship / "planktoscope")
    uvp5_project(ship / "uvp5_sn002zd_omer_2")
    ecotaxa_folder(ship / "lab_export")
    scans = scan_path(ship)
    got = sorted((s.kind, len(s.images)) for s in scans)
    assert got == [("ecotaxa", 3), ("planktoscope", 3), ("uvp5", 4), ("uvp6", 15), ("zooscan", 5)]


def test_a_stray_quote_in_a_value_does_not_swallow_the_next_rows(tmp_path):
    root = ecotaxa_folder(tmp_path / "x", n=3)
    rows = [
        ecotaxa_row(0, object_annotation_category='net 5" mesh'),
        ecotaxa_row(1),
        ecotaxa_row(2, object_annotation_category='"quoted"'),
    ]
    write_tsv(root / "ecotaxa_s1.tsv", ECOTAXA_HEADER, rows)
    s = scan(root)
    assert len(s.images) == 3 and s.rows[ROW_COL].tolist() == [3, 4, 5]
    assert s.rows["object_annotation_category"].tolist() == ['net 5" mesh', "Copepoda", "quoted"]
