"""The parsers accept what fields really contain, round-trip every value they accept, and answer
anything else with a ParseError (never another exception)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from aqqua_packer.mapping.parsers import (
    ParseError,
    check_pixel_size,
    parse_coordinate,
    parse_date,
    parse_datetime,
    parse_length,
    parse_number,
    parse_pixel_size,
    parse_time,
    parse_timezone,
)

DEGREE_SIGNS = ["°", "Â°", "º", "\ufffd"]  # UTF-8, UTF-8 read as cp1252, ordinal, replaced byte
NOW = datetime(2026, 1, 1, tzinfo=UTC)


# --- examples from real files ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "axis", "expected"),
    [
        ("43°0 0", "lat", 43.0),
        ("43Â°0 0", "lat", 43.0),
        ("36,1315", "lat", 36.1315),
        ("36.13 N", "lat", 36.13),
        ("36.13 S", "lat", -36.13),
        ("S 12°30'", "lat", -12.5),
        ("12°30.5'W", "lon", -(12 + 30.5 / 60)),
        ("43°30'15.5\"", "lat", 43 + 30 / 60 + 15.5 / 3600),
        ("-44.72543333333333", "lat", -44.72543333333333),
        ("145.5351", "lon", 145.5351),
        ("12:30:00 W", "lon", -12.5),
        ("−12.5", "lon", -12.5),
    ],
)
def test_coordinates_in_every_written_form(text, axis, expected):
    assert parse_coordinate(text, axis) == pytest.approx(expected, abs=1e-12)


def test_historical_ddmm_only_when_asked():
    assert parse_coordinate("43.4111", "lat") == 43.4111
    assert parse_coordinate("43.4111", "lat", "ddmm") == pytest.approx(43 + 41.11 / 60)
    with pytest.raises(ParseError) as e:
        parse_coordinate("43.75", "lat", "ddmm")
    assert e.value.kind == "out_of_range"


def test_negate_flips_zooprocess_west_positive_longitudes():
    assert parse_coordinate("24.4166666666667", "lon", negate=True) == pytest.approx(
        -24.4166666666667
    )


def test_out_of_range_and_wrong_hemisphere_letters_are_refused():
    with pytest.raises(ParseError) as e:
        parse_coordinate("91", "lat")
    assert e.value.kind == "out_of_range"
    with pytest.raises(ParseError):
        parse_coordinate("12.5 E", "lat")
    assert parse_coordinate("350", "lon", "0-360") == -10


@pytest.mark.parametrize("text", ["", "  ", "NA", "nan", "N/A", "-999", "99999", "9999", "null"])
def test_placeholders_mean_no_value(text):
    with pytest.raises(ParseError) as e:
        parse_coordinate(text, "lat")
    assert e.value.kind in ("missing", "sentinel")


@pytest.mark.parametrize(
    ("text", "fmt", "expected"),
    [
        ("2020-02-05T11:18:23Z", None, datetime(2020, 2, 5, 11, 18, 23, tzinfo=UTC)),
        ("2020-02-05 13:18:23+02:00", None, datetime(2020, 2, 5, 11, 18, 23, tzinfo=UTC)),
        ("20200205-111823", None, datetime(2020, 2, 5, 11, 18, 23, tzinfo=UTC)),
        ("20200205T111823.5", None, datetime(2020, 2, 5, 11, 18, 23, 500000, tzinfo=UTC)),
        ("20200205", None, datetime(2020, 2, 5, tzinfo=UTC)),
        ("25/02/2020 10:00", None, datetime(2020, 2, 25, 10, tzinfo=UTC)),
        ("05.02.2020", None, datetime(2020, 2, 5, tzinfo=UTC)),
        ("1580901503", "epoch", datetime(2020, 2, 5, 11, 18, 23, tzinfo=UTC)),
        ("43866.47109953704", "excel", datetime(2020, 2, 5, 11, 18, 23, tzinfo=UTC)),
        ("2020-036", "doy", datetime(2020, 2, 5, tzinfo=UTC)),
        ("05/02/2020 11:18", "%d/%m/%Y %H:%M", datetime(2020, 2, 5, 11, 18, tzinfo=UTC)),
    ],
)
def test_datetimes_in_every_written_form(text, fmt, expected):
    assert parse_datetime(text, fmt, now=NOW) == expected


def test_day_and_month_that_could_be_either_way_round_ask_for_the_format():
    with pytest.raises(ParseError) as e:
        parse_datetime("05/02/2020", now=NOW)
    assert e.value.kind == "ambiguous"
    assert parse_datetime("05/02/2020", dayfirst=True, now=NOW).month == 2
    assert parse_datetime("05/02/2020", dayfirst=False, now=NOW).month == 5


def test_local_times_take_the_dataset_time_zone():
    assert parse_datetime("2020-07-01 12:00", tz="Europe/Berlin", now=NOW).hour == 10
    assert parse_datetime("2020-01-01 12:00", tz="Europe/Berlin", now=NOW).hour == 11
    assert parse_datetime("2020-01-01 12:00", tz="-03:00", now=NOW).hour == 15
    assert parse_datetime("2020-01-01 12:00Z", tz="-03:00", now=NOW).hour == 12  # written zone wins


def test_datetimes_before_1900_or_in_the_future_are_out_of_range():
    for text in ("1899-12-31", "2027-01-01"):
        with pytest.raises(ParseError) as e:
            parse_datetime(text, now=NOW)
        assert e.value.kind == "out_of_range"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("420", 4 * 3600 + 20 * 60),
        ("0420", 4 * 3600 + 20 * 60),
        ("111823", 11 * 3600 + 18 * 60 + 23),
        ("11:18:23", 40703),
        ("11:18", 40680),
        ("14h30", 52200),
        ("4:20 pm", 16 * 3600 + 1200),
        ("7", 7 * 60),
    ],
)
def test_times_of_day_including_zooprocess_short_hmm(text, seconds):
    assert parse_time(text) == seconds


def test_an_hhmmss_column_reads_short_values_as_seconds():
    assert parse_time("815", width=6) == 8 * 60 + 15
    assert parse_time("815", width=4) == 8 * 3600 + 15 * 60


def test_dates():
    assert parse_date("20140420") == date(2014, 4, 20)
    assert parse_date("2014-04-20") == date(2014, 4, 20)
    assert parse_date("20/04/2014") == date(2014, 4, 20)
    assert parse_date("2014-110", "doy") == date(2014, 4, 20)
    assert parse_date("41749", "excel") == date(2014, 4, 20)


def test_lengths_and_units():
    assert parse_length("150", "cm") == 1.5
    assert parse_length("150 cm") == 1.5
    assert parse_length("12,5", "dbar") == 12.5
    assert parse_length("12", negate=True) == -12


def test_pixel_sizes_and_units():
    assert parse_pixel_size("10.6") == 10.6
    assert parse_pixel_size("0.0106", "mm") == pytest.approx(10.6)
    assert parse_pixel_size("2400", "dpi") == pytest.approx(25400 / 2400)
    assert parse_pixel_size("3.4", "px/um") == pytest.approx(1 / 3.4)
    assert parse_pixel_size("100", "px/mm") == 10
    with pytest.raises(ParseError) as e:
        check_pixel_size(10600, "zooscan")
    assert e.value.kind == "implausible"


def test_time_zones():
    assert parse_timezone("UTC") is UTC
    assert parse_timezone("+02:00") == timezone(timedelta(hours=2))
    assert parse_timezone("UTC-3") == timezone(timedelta(hours=-3))
    assert str(parse_timezone("Europe/Berlin")) == "Europe/Berlin"
    with pytest.raises(ParseError):
        parse_timezone("Mars/Olympus")


# --- properties ------------------------------------------------------------------------------------
finite = st.floats(allow_nan=False, allow_infinity=False)


@given(st.floats(-90, 90), st.sampled_from(["lat", "lon"]), st.booleans())
def test_decimal_degrees_round_trip_with_point_or_comma(v, axis, comma):
    text = repr(v)
    if comma:
        text = text.replace(".", ",")
    assume(v not in (-999.0,))
    assert parse_coordinate(text, axis) == v + 0.0


@given(st.floats(0, 180), st.sampled_from(["E", "W"]), st.sampled_from([" ", ""]))
def test_hemisphere_letters_round_trip(v, hemi, sep):
    assert parse_coordinate(f"{v!r}{sep}{hemi}", "lon") == (v if hemi == "E" else -v) + 0.0
    assert parse_coordinate(f"{hemi}{sep}{v!r}", "lon") == (v if hemi == "E" else -v) + 0.0


@given(
    st.integers(0, 89),
    st.integers(0, 59),
    st.integers(0, 59_999),
    st.sampled_from(DEGREE_SIGNS),
    st.sampled_from(["N", "S", ""]),
)
def test_degrees_minutes_seconds_round_trip_in_any_degree_encoding(d, m, ms, deg, hemi):
    s = ms / 1000
    text = f"{d}{deg}{m}'{s}\" {hemi}".strip()
    expected = d + m / 60 + s / 3600
    assert parse_coordinate(text, "lat") == pytest.approx(
        -expected if hemi == "S" else expected, abs=1e-12
    )


@pytest.mark.parametrize(
    "text",
    ["43°60'0\"", "43°59'60\"", "43°75'", "43 60 00", "43°12'60.5\" N", "12:99:00", "43°60.0'"],
)
def test_degrees_minutes_seconds_with_minutes_or_seconds_of_60_or_more_are_refused(text):
    with pytest.raises(ParseError) as err:
        parse_coordinate(text, "lat")
    assert err.value.kind == "out_of_range", err.value


@given(st.integers(0, 89), st.integers(0, 5999))
def test_historical_ddmm_round_trips(d, hundredths):
    text = f"{d}.{hundredths:04d}"
    assert parse_coordinate(text, "lat", "ddmm") == pytest.approx(
        d + hundredths / 100 / 60, abs=1e-9
    )


instants = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(2025, 12, 30), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))


@given(
    instants,
    st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]),
)
def test_iso_datetimes_round_trip_to_the_same_instant(dt, zone):
    assert parse_datetime(dt.astimezone(zone).isoformat(), now=NOW) == dt


@given(instants)
def test_compact_datetimes_round_trip_in_the_dataset_zone(dt):
    dt = dt.replace(microsecond=0)
    local = dt.astimezone(timezone(timedelta(hours=2)))
    assert parse_datetime(local.strftime("%Y%m%d-%H%M%S"), tz="+02:00", now=NOW) == dt
    assert (
        parse_datetime(
            local.strftime("%d/%m/%Y %H:%M:%S"), "%d/%m/%Y %H:%M:%S", tz="+02:00", now=NOW
        )
        == dt
    )


@given(instants)
def test_epoch_and_excel_serials_round_trip(dt):
    assert parse_datetime(repr(dt.timestamp()), "epoch", now=NOW) == dt
    serial = (dt.replace(tzinfo=None) - datetime(1899, 12, 30)) / timedelta(days=1)
    assert parse_datetime(repr(serial), "excel", now=NOW) == dt


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_day_of_year_round_trips(d):
    assert parse_date(f"{d.year}-{d.timetuple().tm_yday:03d}", "doy") == d
    assert parse_date(d.strftime("%Y%m%d")) == d


@given(st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))
def test_times_round_trip_with_or_without_leading_zeros(h, m, s):
    secs = h * 3600 + m * 60 + s
    assert parse_time(f"{h:02d}:{m:02d}:{s:02d}") == secs
    assert parse_time(str(int(f"{h:02d}{m:02d}{s:02d}")), width=6) == secs
    assert parse_time(str(int(f"{h:02d}{m:02d}"))) == h * 3600 + m * 60


@given(
    st.floats(0, 11000), st.sampled_from([("m", 1.0), ("cm", 0.01), ("dbar", 1.0), ("mm", 0.001)])
)
def test_lengths_round_trip(v, unit):
    assume(v not in (9999.0,))
    assert parse_length(repr(v), unit[0]) == v * unit[1]


@given(st.floats(0.01, 10000))
def test_pixel_sizes_round_trip_through_dpi(um):
    dpi = 25400 / um
    assert parse_pixel_size(repr(dpi), "dpi") == pytest.approx(um, rel=1e-12)


@given(finite)
def test_numbers_round_trip(v):
    assume(v not in (9999.0, -9999.0, 99999.0, -99999.0, 999999.0, -999999.0, -999.0))
    assert parse_number(repr(v)) == v


@settings(max_examples=300)
@given(
    st.text(max_size=40),
    st.sampled_from([None, "ddmm", "nmea", "0-360", "auto"]),
    st.sampled_from(["lat", "lon"]),
)
def test_coordinates_never_raise_anything_but_parse_error(text, fmt, axis):
    try:
        v = parse_coordinate(text, axis, fmt)
    except ParseError:
        return
    assert math.isfinite(v)


@settings(max_examples=300)
@given(
    st.text(max_size=40),
    st.sampled_from([None, "iso", "epoch", "excel", "doy", "epoch_ms", "%Y%m%d", "nonsense"]),
    st.sampled_from([None, "UTC", "Europe/Berlin", "+05:30", "bogus/zone"]),
)
def test_datetimes_never_raise_anything_but_parse_error(text, fmt, tz):
    try:
        v = parse_datetime(text, fmt, tz)
    except ParseError:
        return
    assert v.tzinfo is not None


@settings(max_examples=300)
@given(
    st.text(max_size=30),
    st.sampled_from([None, "doy", "excel", "iso", "%d/%m/%Y"]),
    st.sampled_from([None, "hhmm", "hhmmss", "excel", "%H:%M"]),
    st.sampled_from([None, 4, 6]),
)
def test_dates_and_times_never_raise_anything_but_parse_error(text, dfmt, tfmt, width):
    try:
        d = parse_date(text, dfmt)
    except ParseError:
        pass
    else:  # a real calendar day (a date object cannot be otherwise) of a plausible year
        assert isinstance(d, date) and 1 <= d.month <= 12 and 1 <= d.day <= 31
    try:
        t = parse_time(text, tfmt, width)
    except ParseError:
        pass
    else:  # seconds since midnight: finite, within one day
        assert math.isfinite(t) and 0 <= t < 86_400, (text, t)


@settings(max_examples=300)
@given(
    st.text(max_size=30),
    st.sampled_from([None, "m", "cm", "dbar", "furlong", "um", "mm", "dpi", "px/um"]),
)
def test_numbers_lengths_pixel_sizes_and_zones_never_raise_anything_but_parse_error(text, unit):
    checks = (
        (lambda: parse_number(text), lambda v: math.isfinite(v)),
        (lambda: parse_length(text, unit), lambda v: math.isfinite(v)),
        # micrometres per pixel, within the plausible range the parser promises
        (lambda: parse_pixel_size(text, unit), lambda v: 0.001 <= v <= 100_000),
        # a zone whose offset is a real one (within ±14 h, as on Earth's clocks)
        (
            lambda: parse_timezone(text),
            lambda z: abs(z.utcoffset(datetime(2024, 1, 1))) <= timedelta(hours=14),
        ),
    )
    for parse, holds in checks:
        try:
            v = parse()
        except ParseError:
            continue
        assert holds(v), (text, unit, v)
