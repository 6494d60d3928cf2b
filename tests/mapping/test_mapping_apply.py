"""Applying a mapping: real instrument files, every gap the issue lists, profiles and settings."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import pandas as pd
import pytest
from mapping_builders import image_folder, planktoscope_folder

from aqqua_packer.mapping import (
    Mapping,
    apply_mapping,
    load_profile,
    parse_cli_mapping,
    save_profile,
)
from aqqua_packer.mapping.parsers import parse_coordinate, parse_time
from aqqua_packer.problems import UserError
from aqqua_packer.sources.base import ImageRef, Scan, SetAside
from aqqua_packer.sources.tables import decode_text, read_table, read_text_table
from aqqua_packer.workflow import Request, check


def _kinds(mapped, field=None):
    return {p.kind for p in mapped.problems if field is None or p.field == field}


# --- the real fixtures --------------------------------------------------------------------------------
def test_uvp6_cp1252_degree_sign_text_parses_to_43(shared_fixtures):
    """Read with the generic tools (bytes → cp1252 text → table), independent of the UVP6 reader."""
    with zipfile.ZipFile(shared_fixtures / "uvp6" / "b_da_19_Images.zip") as z:
        name = next(n for n in z.namelist() if n.endswith(".tsv"))
        data = z.read(name)
    assert b"43\xb00 0" in data  # the cp1252/latin-1 degree sign, as the instrument wrote it
    rows = read_text_table(decode_text(data, name), name, suffix=".tsv", skip_type_line=True)
    lats = set(rows["object_lat"])
    assert lats == {"43°0 0"}
    assert parse_coordinate("43°0 0", "lat") == 43.0
    assert {parse_coordinate(v, "lon") for v in rows["object_lon"]} == {17.0}


def test_uvp6_fixture_through_its_reader_is_ready_at_43_north(shared_fixtures):
    mapped = check(Request([shared_fixtures / "uvp6" / "b_da_19_Images.zip"]))
    assert len(mapped.items) == 15
    assert mapped.ready.all(), [str(p) for p in mapped.problems]
    assert set(mapped.converted["image-latitude"]) == {43.0}
    assert set(mapped.converted["image-pixel-size-micrometers"]) == {73.0}
    assert (mapped.converted["image-datetime"].dt.strftime("%Y%m%d") == "20200205").all()


def test_zooscan_object_time_420_is_four_twenty(shared_fixtures):
    table = shared_fixtures / "zooscan" / "m106_mn01_n1_sml" / "ecotaxa_m106_mn01_n1_sml.tsv"
    rows = read_table(table, skip_type_line=True)
    assert set(rows["object_time"]) == {"420"}
    assert parse_time("420") == 4 * 3600 + 20 * 60


def test_zooscan_fixture_converts_to_0420_utc_and_its_real_position(shared_fixtures):
    # Row 409 sits off Tasmania while the other four, at the same instant, are off Cape Verde
    # (where cruise m106 was): a suspicious position, ready once a person accepts it.
    mapped = check(
        Request([shared_fixtures / "zooscan" / "m106_mn01_n1_sml"], accept=["ship_speed"])
    )
    conv = mapped.converted.set_index("image-filename")
    assert mapped.ready.all(), [str(p) for p in mapped.problems]
    assert (conv["image-datetime"] == pd.Timestamp("2014-04-20T04:20:00Z")).all()
    row = conv.loc["m106_mn01_n1_sml_409.jpg"]
    assert row["image-latitude"] == pytest.approx(-44.725, abs=1e-3)
    assert row["image-longitude"] == pytest.approx(145.535, abs=1e-3)
    assert (conv["image-pixel-size-micrometers"] == 10.6).all()
    assert (conv["image-altitude-meters"] == -800).all()  # the middle of 600–1000 m, below the sea


# --- ordinary headers need no flags --------------------------------------------------------------------
def test_a_table_with_ordinary_headers_is_mapped_without_any_flag(tmp_path):
    header = ["filename", "Lat", "LONGITUDE", "Date", "Time", "Depth [m]", "pixel_size_um"]
    rows = [
        [f"p{i}.png", "43.1", "7.25", "2021-06-01", f"12:3{i}:00", "5", "1.5"] for i in range(3)
    ]
    src = image_folder(tmp_path / "d", header, rows)
    mapped = check(Request([src]))
    assert mapped.ready.all(), [str(p) for p in mapped.problems]
    m = mapped.mapping
    assert (m.get("latitude").column, m.get("longitude").column) == ("Lat", "LONGITUDE")
    assert m.get("latitude").origin == "suggested" and m.get("latitude").samples == ["43.1"]
    assert mapped.converted["image-altitude-meters"].tolist() == [-5.0] * 3


# --- the gaps -------------------------------------------------------------------------------------------
def test_planktoscope_zero_zero_is_reported_not_ready_until_the_user_confirms_it(tmp_path):
    src = planktoscope_folder(tmp_path / "ps")
    mapped = check(Request([src]))
    assert not mapped.ready.any()
    zero = [p for p in mapped.problems if p.kind == "default_position"]
    assert [p.row for p in zero] == [2, 3, 4] and zero[0].file.endswith("meta.csv")
    confirmed = check(Request([src], sets=["zero_position_confirmed=yes"]))
    assert confirmed.ready.all(), [str(p) for p in confirmed.problems]
    assert "default_position" not in _kinds(confirmed)


def test_every_bad_value_is_a_problem_naming_file_row_field_and_value(tmp_path):
    header = ["file", "lat", "lon", "datetime", "depth", "pixel_size"]
    rows = [
        ["a.png", "43.1", "7.2", "2021-06-01T10:00:00Z", "5", "1.5"],  # good
        ["b.png", "NA", "7.2", "2021-06-01T10:00:00Z", "5", "1.5"],  # sentinel
        ["c.png", "99999", "7.2", "2021-06-01T10:00:00Z", "5", "1.5"],  # numeric sentinel
        ["d.png", "north", "7.2", "2021-06-01T10:00:00Z", "5", "1.5"],  # unparseable
        ["e.png", "95", "7.2", "2021-06-01T10:00:00Z", "5", "1.5"],  # out of range
        ["f.png", "43.1", "7.2", "2091-06-01T10:00:00Z", "5", "1.5"],  # future
        ["g.png", "43.1", "7.2", "1850-06-01T10:00:00Z", "5", "1.5"],  # before 1900
        ["h.png", "43.1", "7.2", "2021-06-01T10:00:00Z", "-4", "1.5"],  # depth negative at sea
        ["i.png", "43.1", "7.2", "2021-06-01T10:00:00Z", "5", ""],  # missing
    ]
    mapped = check(Request([image_folder(tmp_path / "d", header, rows)]))
    by_file = {mapped.items[i].image.name: bool(mapped.ready[i]) for i in range(len(mapped.items))}
    assert by_file == {"a.png": True, **{f"{c}.png": False for c in "bcdefghi"}}
    found = {(p.kind, p.row, p.field, p.value) for p in mapped.problems if p.severity == "error"}
    assert found == {
        ("sentinel", 3, "latitude", "NA"),
        ("sentinel", 4, "latitude", "99999"),
        ("unparseable", 5, "latitude", "north"),
        ("out_of_range", 6, "latitude", "95"),
        ("out_of_range", 7, "datetime", "2091-06-01T10:00:00Z"),
        ("out_of_range", 8, "datetime", "1850-06-01T10:00:00Z"),
        ("negative_depth", 9, "depth", "-4"),
        ("missing", 10, "pixel_size", ""),
    }
    lat = mapped.fields["latitude"]
    assert lat.counts() == (5, 2, 1 + 1)  # ready, missing (NA, 99999), invalid (north, 95)


def test_pixel_size_implausible_for_the_instrument_is_invalid(tmp_path):
    rows = [["a.png", "43", "7", "2021-06-01T10:00:00Z", "5", "0.0106"]]
    root = image_folder(
        tmp_path / "d", ["file", "lat", "lon", "datetime", "depth", "pixel_size"], rows
    )
    scan = Scan(
        "zooscan",
        root,
        [ImageRef("a.png", str(root / "a.png"))],
        read_table(root / "meta.csv"),
        {"fields": {"image": {"column": "file"}}},
    )
    mapped = apply_mapping([scan], Mapping())
    assert [p.kind for p in mapped.problems if p.field == "pixel_size"] == ["implausible"]
    fixed = apply_mapping([scan], parse_cli_mapping([], ["pixel_size.unit=mm"]))
    assert fixed.ready.all() and fixed.converted["image-pixel-size-micrometers"][
        0
    ] == pytest.approx(10.6)


def test_images_without_rows_rows_without_images_and_duplicate_ids(tmp_path):
    header = ["file", "lat", "lon", "datetime", "depth", "pixel_size"]
    good = ["43", "7", "2021-06-01T10:00:00Z", "5", "1.5"]
    root = image_folder(
        tmp_path / "d", header, [["a.png", *good], ["b.png", *good], ["a.png", *good]]
    )
    (root / "c.png").write_bytes((root / "a.png").read_bytes())  # an image nobody described
    (root / "meta.csv").write_text(
        (root / "meta.csv").read_text() + "ghost.png," + ",".join(good) + "\n"
    )
    mapped = check(Request([root]))
    kinds = {(p.kind, p.file.rsplit("/", 1)[-1], p.row) for p in mapped.problems}
    assert ("image_without_row", "c.png", None) in kinds
    assert ("row_without_image", "meta.csv", 5) in kinds
    assert ("duplicate_id", "meta.csv", 4) in kinds
    ready = {mapped.items[i].image.name: bool(mapped.ready[i]) for i in range(len(mapped.items))}
    assert ready == {"a.png": True, "b.png": True, "c.png": False}


def test_set_aside_copies_and_reader_problems_are_listed():
    scan = Scan(
        "generic",
        __import__("pathlib").Path("/x"),
        [],
        set_aside=[SetAside("/x/a.jpg", "a preview of a.tif", kept="a.tif")],
    )
    mapped = apply_mapping([scan], Mapping())
    (p,) = [p for p in mapped.problems if p.kind == "set_aside"]
    assert p.file == "/x/a.jpg" and "a.tif" in p.message and p.severity == "info"


def test_unreadable_images_found_while_packing_make_the_image_not_ready(tmp_path):
    mapped = check(Request([planktoscope_folder(tmp_path / "ps", "43.2", "7.3")]))
    assert mapped.ready.all()
    p = mapped.add_unreadable(1, "truncated PNG")
    assert not mapped.ready[1] and p in mapped.problems and p.kind == "unreadable_image"


# --- formats, settings, modifiers ---------------------------------------------------------------------
def test_local_time_zone_and_lake_surface_altitude_are_dataset_settings(tmp_path):
    rows = [["a.png", "47.6", "9.4", "2021-07-01 12:00", "10", "1.5"]]
    src = image_folder(
        tmp_path / "lake", ["file", "lat", "lon", "datetime", "depth", "pixel_size"], rows
    )
    mapped = check(Request([src], sets=["timezone=Europe/Berlin", "surface_altitude=395"]))
    assert mapped.ready.all(), [str(p) for p in mapped.problems]
    assert mapped.converted["image-datetime"][0] == pd.Timestamp("2021-07-01T10:00:00Z")
    assert mapped.converted["image-altitude-meters"][0] == 385.0
    bad = check(Request([src], sets=["timezone=Moon/Base"]))
    assert not bad.ready.any() and "bad_setting" in _kinds(bad, "timezone")


def test_ambiguous_day_month_column_is_reported_and_resolved_by_a_format(tmp_path):
    rows = [[f"{i}.png", "43", "7", f"0{i}/02/2021", "1", "1.5"] for i in (1, 3, 4)]
    src = image_folder(tmp_path / "d", ["file", "lat", "lon", "date", "depth", "pixel_size"], rows)
    mapped = check(Request([src]))
    assert not mapped.ready.any()
    assert {p.kind for p in mapped.problems if p.field == "date"} == {"ambiguous"}
    fixed = check(Request([src], sets=["date.format=%d/%m/%Y"]))
    assert fixed.ready.all() and fixed.converted["image-datetime"][0].month == 2
    # a single day above 12 tells the whole column's order
    rows.append(["5.png", "43", "7", "25/02/2021", "1", "1.5"])
    mixed = check(
        Request(
            [
                image_folder(
                    tmp_path / "e", ["file", "lat", "lon", "date", "depth", "pixel_size"], rows
                )
            ]
        )
    )
    assert mixed.ready.all(), [str(p) for p in mixed.problems]


def test_excel_and_epoch_columns_are_recognised_from_their_values(tmp_path):
    header = ["file", "lat", "lon", "timestamp", "depth", "pixel_size"]
    src = image_folder(tmp_path / "e", header, [["a.png", "43", "7", "1580901503", "1", "1.5"]])
    mapped = check(Request([src]))
    assert mapped.mapping.get("datetime").format == "epoch"
    assert mapped.converted["image-datetime"][0] == pd.Timestamp("2020-02-05T11:18:23Z")
    src = image_folder(
        tmp_path / "x",
        ["file", "lat", "lon", "datetime", "depth", "pixel_size"],
        [["a.png", "43", "7", "43866.47109953704", "1", "1.5"]],
    )
    assert check(Request([src])).converted["image-datetime"][0] == pd.Timestamp(
        "2020-02-05T11:18:23Z"
    )


def test_a_pattern_takes_the_datetime_from_the_file_name(tmp_path):
    src = image_folder(tmp_path / "p", ["file", "x"], [["20200205-111823_3.png", "1"]])
    mapped = check(
        Request(
            [src],
            sets=[
                r"datetime.pattern=(\d{8}-\d{6})",
                "latitude=43",
                "longitude=7",
                "depth=1",
                "pixel_size=73",
            ],
        )
    )
    assert mapped.ready.all(), [str(p) for p in mapped.problems]
    assert mapped.converted["image-datetime"][0] == datetime(2020, 2, 5, 11, 18, 23, tzinfo=UTC)


def test_negate_and_ddmm_modifiers_keep_the_suggested_column(tmp_path):
    src = image_folder(
        tmp_path / "n",
        ["file", "object_lat", "object_lon", "datetime", "depth", "pixel_size"],
        [["a.png", "43.4111", "7.3", "2021-06-01T00:00:00Z", "1", "1.5"]],
    )
    mapped = check(Request([src], sets=["latitude.format=ddmm", "longitude.negate=yes"]))
    lat, lon = mapped.mapping.get("latitude"), mapped.mapping.get("longitude")
    assert (lat.column, lat.format, lat.origin) == ("object_lat", "ddmm", "given")
    assert lon.negate and lon.column == "object_lon"
    assert mapped.converted["image-latitude"][0] == pytest.approx(43 + 41.11 / 60)
    assert mapped.converted["image-longitude"][0] == -7.3


def test_a_mapped_column_missing_from_the_table_is_one_problem_not_one_per_image(tmp_path):
    src = planktoscope_folder(tmp_path / "ps", "43", "7", n=5)
    mapped = check(Request([src], maps=["latitude=Breite"]))
    (p,) = [p for p in mapped.problems if p.field == "latitude"]
    assert p.kind == "missing_column" and "object_lat" in p.message
    assert mapped.fields["latitude"].counts() == (0, 5, 0)


# --- profiles -------------------------------------------------------------------------------------------
def test_a_saved_profile_survives_an_inserted_column(tmp_path):
    header = ["file", "Breite", "Laenge", "Datum", "Zeit", "Tiefe", "Pixel"]
    rows = [["a.png", "54,1", "7,9", "01.06.2021", "1015", "3", "2"]]
    src = image_folder(tmp_path / "c1", header, rows, delimiter=";")
    mapped = check(
        Request(
            [src],
            maps=[
                "latitude=Breite",
                "longitude=Laenge",
                "date=Datum",
                "time=Zeit",
                "depth=Tiefe",
                "pixel_size=Pixel",
            ],
            sets=["timezone=+02:00"],
        )
    )
    assert mapped.ready.all(), [str(p) for p in mapped.problems]
    save_profile(mapped.mapping, tmp_path / "cruise.json")
    # next cruise: somebody inserted a column at the front
    header2 = ["Station", *header]
    rows2 = [["S1", *r] for r in rows]
    src2 = image_folder(tmp_path / "c2", header2, rows2, delimiter=";", image_col=1)
    again = check(Request([src2], profile=tmp_path / "cruise.json"))
    assert again.ready.all(), [str(p) for p in again.problems]
    pd.testing.assert_frame_equal(again.converted[mapped.converted.columns], mapped.converted)
    assert again.converted["image-datetime"][0] == pd.Timestamp("2021-06-01T08:15:00Z")


def test_bad_profiles_and_flags_are_user_errors(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text("{not json")
    with pytest.raises(UserError, match="line 1"):
        load_profile(p)
    p.write_text('{"fields": {"colour": {"column": "x"}}}')
    with pytest.raises(UserError, match="colour"):
        load_profile(p)
    with pytest.raises(UserError, match="FIELD=VALUE"):
        parse_cli_mapping(["latitude"], [])
    with pytest.raises(UserError, match="regular expression"):
        parse_cli_mapping([], ["datetime.pattern=(("])


def test_profile_round_trip_keeps_formats_units_and_negate():
    m = parse_cli_mapping(
        ["latitude=Lat", "depth=P"],
        ["latitude.format=ddmm", "depth.unit=dbar", "longitude=7", "longitude.negate=yes"],
    )
    again = Mapping.from_profile(m.to_profile())
    assert again.to_profile() == m.to_profile()
    assert again.get("depth").unit == "dbar" and again.get("longitude").negate


def test_reapplying_on_100k_rows_parses_each_distinct_value_once(tmp_path):
    n = 100_000
    rows = pd.DataFrame(
        {
            "file": [f"i{i}.png" for i in range(n)],
            "lat": ["43°30'N"] * n,
            "lon": ["7,25"] * n,
            "date": ["20200205"] * n,
            "time": [str(1000 + i % 50) for i in range(n)],
            "depth": ["5"] * n,
            "pixel_size": ["73"] * n,
            "__table__": "t.csv",
            "__row__": range(2, n + 2),
        },
        dtype=object,
    )
    scan = Scan("uvp6", tmp_path, [ImageRef(f"i{i}.png", "", row=i) for i in range(n)], rows)
    import time

    t0 = time.perf_counter()
    mapped = apply_mapping([scan], Mapping())
    elapsed = time.perf_counter() - t0
    assert mapped.ready.all()
    assert elapsed < 20  # generous on a shared machine; the benchmark measures it properly
    buf = io.StringIO()
    buf.write(str(mapped.converted.iloc[-1]["image-datetime"]))
    assert buf.getvalue() == "2020-02-05 10:49:00+00:00"


def test_the_fast_path_for_many_distinct_values_agrees_with_the_parsers(tmp_path):
    """Columns with many distinct values are converted in bulk; the result must be the parsers'."""
    from aqqua_packer.mapping import parsers

    rng = __import__("random").Random(4)
    odd = [
        "NA",
        "-999",
        "1e400",
        "abc",
        "",
        "12,5",
        "43°30'N",
        "-0",
        " 7 ",
        "95",
        "-181",
        "1e2",
        "0x10",
        "٣",
    ]
    dms = [
        "43°0 0",
        "43°30'15.5\"",
        "-12°30.5'",
        "12°30.5'W",
        "12°30.5' S",
        "89°59 59.9",
        "91°0 0",
        "43°60 0",
        "43°0 60",
        "43°30.5 10",
        "43°512",
        "43° 5",
        "43°5'E",
        "43°5'n",
        "+7°1 2",
        "7°1 2 ",
        "43°0\u20190",
        "43°30''15",
    ]
    lats = [repr(rng.uniform(-95, 95)) for _ in range(300)] + odd + dms
    lats += [
        f"{rng.randint(0, 95)}°{rng.randint(0, 61)} {rng.uniform(0, 61):.3f}" for _ in range(100)
    ]
    n = len(lats)
    depths = ([repr(rng.uniform(-50, 12000)) for _ in range(300)] + odd) * 2
    pix = ([repr(rng.uniform(-1, 3000)) for _ in range(300)] + odd) * 2
    times = [str(rng.randint(0, 246099)) for _ in range(400)] + [
        "",
        "NA",
        "12:30",
        "0420",
        "99",
        "1.5",
        "-5",
        "٣",
    ]
    times, depths, pix = (times * 2)[:n], depths[:n], pix[:n]
    rows = pd.DataFrame(
        {
            "file": [f"{i}.png" for i in range(n)],
            "lat": lats,
            "lon": lats,
            "depth": depths,
            "px": pix,
            "date": "20200101",
            "time": times,
            "__table__": "t.csv",
            "__row__": range(2, n + 2),
        },
        dtype=object,
    )
    scan = Scan("uvp6", tmp_path, [ImageRef(f"{i}.png", "", row=i) for i in range(n)], rows)
    given = parse_cli_mapping(
        ["date=date", "time=time", "latitude=lat", "longitude=lon", "depth=depth", "pixel_size=px"],
        ["depth.unit=cm", "pixel_size.unit=dpi"],
    )
    mapped = apply_mapping([scan], given)
    conv = mapped.converted

    def slow(fn, v):
        try:
            return fn(v)
        except parsers.ParseError:
            return None

    for i in range(n):
        exp_lat = slow(lambda v: parsers.parse_coordinate(v, "lat"), lats[i])
        exp_lon = slow(lambda v: parsers.parse_coordinate(v, "lon"), lats[i])
        exp_d = slow(lambda v: parsers.check_depth(parsers.parse_length(v, "cm")), depths[i])
        exp_p = slow(
            lambda v: parsers.check_pixel_size(parsers.parse_pixel_size(v, "dpi"), "uvp6"), pix[i]
        )
        secs = slow(lambda v: parsers.parse_time(v, None, 6), times[i])
        exp_t = (
            None
            if secs is None
            else pd.Timestamp("2020-01-01", tz="UTC") + pd.Timedelta(seconds=secs)
        )
        got_t = conv["image-datetime"][i]
        assert (exp_t is None and pd.isna(got_t)) or got_t == exp_t, (i, times[i], got_t, exp_t)
        if exp_lat == 0 and exp_lon == 0:
            exp_lat = exp_lon = None  # the 0,0 default position
        for col, exp in (
            ("image-latitude", exp_lat),
            ("image-longitude", exp_lon),
            ("image-depth-meters", exp_d),
            ("image-pixel-size-micrometers", exp_p),
        ):
            got = conv[col][i]
            assert (exp is None and pd.isna(got)) or got == exp, (
                col,
                i,
                lats[i],
                depths[i],
                pix[i],
                got,
                exp,
            )


def test_two_images_with_the_same_object_id_are_a_warning_naming_both_rows(tmp_path):
    header = ["file", "object_id", "lat", "lon", "datetime", "depth", "pixel_size"]
    good = ["43", "7", "2021-06-01T10:00:00Z", "5", "1.5"]
    rows = [["a.png", "o1", *good], ["b.png", "o2", *good], ["c.png", "o1", *good]]
    mapped = check(Request([image_folder(tmp_path / "d", header, rows)]))
    (p,) = [p for p in mapped.problems if p.field == "object_id"]
    assert (p.kind, p.row, p.value, p.severity) == ("duplicate_id", 4, "o1", "warning")
    assert "row 2" in p.message and mapped.ready.all()


def test_a_field_turned_down_stays_unmapped_whatever_is_suggested(tmp_path):
    src = planktoscope_folder(tmp_path / "ps", "43", "7")
    assert check(Request([src])).mapping.get("sample_id").column == "sample_id"
    mapped = check(Request([src], maps=["sample_id="]))
    assert mapped.mapping.get("sample_id") is None and "sample_id" in mapped.mapping.unmapped
    assert "image-sample-id" not in mapped.converted.columns
    again = Mapping.from_profile(mapped.mapping.to_profile())
    assert again.unmapped == {"sample_id"} and again.to_profile()["fields"]["sample_id"] is None


def test_spreadsheet_dates_at_midnight_and_excel_fractions_of_a_day(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["file", "lat", "lon", "date", "time", "depth", "pixel_size"])
    ws.append(["a.png", 43.5, 7.25, datetime(2014, 4, 20), 0.4270833333333333, 5, 1.5])
    root = tmp_path / "x"
    root.mkdir()
    wb.save(root / "meta.xlsx")
    from PIL import Image

    Image.new("L", (4, 4)).save(root / "a.png")
    mapped = check(Request([root]))
    assert mapped.mapping.get("time").format == "excel"
    assert mapped.ready.all(), [str(p) for p in mapped.problems]
    assert mapped.converted["image-datetime"][0] == pd.Timestamp("2014-04-20T10:15:00Z")


def test_a_check_cancelled_while_mapping_stops_with_cancelled(tmp_path):
    from aqqua_packer.progress import Cancelled, Task

    seen = []

    def on_event(ev):
        seen.append(ev.phase)
        if ev.phase == "map":
            task.cancel()

    task = Task(on_event=on_event)
    with pytest.raises(Cancelled):
        check(Request([planktoscope_folder(tmp_path / "ps", "43", "7")]), task)
    assert "map" in seen
