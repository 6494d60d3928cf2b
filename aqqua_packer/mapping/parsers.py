"""Parsers that accept what a field really contains.

Each parser takes the text of one cell and returns a number (degrees, metres, micrometres, seconds)
or an instant (an aware UTC ``datetime``), or raises ``ParseError`` (never anything else) whose
``kind`` names the problem ("missing", "sentinel", "unparseable", "out_of_range", "ambiguous",
"negative_depth", "implausible") and whose message says what was expected.  Messages never repeat
the value (the ``Problem`` carries it), so the report can group thousands of identical problems.

The parsers work on one value; ``apply.py`` calls them once per *distinct* value of a column,
which is what keeps a 100,000-row table fast.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

import pandas as pd


class ParseError(ValueError):
    """A value that cannot become the field's number or instant; ``kind`` says why."""

    def __init__(self, message: str, kind: str = "unparseable", field: str | None = None):
        super().__init__(message)
        self.kind = kind
        self.field = field  # the input field at fault, when a value is built from several


# --- text clean-up and "no value" -------------------------------------------------------------
TEXT_SENTINELS = frozenset(
    {
        "na",
        "n/a",
        "n.a.",
        "nan",
        "none",
        "null",
        "nil",
        "-",
        "--",
        "?",
        "nd",
        "n.d.",
        "#n/a",
        "#value!",
        "#na",
        "missing",
        "unknown",
        "not available",
        "inf",
        "-inf",
        "infinity",
    }
)
NUMBER_SENTINELS = frozenset({9999.0, -9999.0, 99999.0, -99999.0, 999999.0, -999999.0, -999.0})
# Kept for the first version's callers.
SENTINELS = frozenset({"", *TEXT_SENTINELS, "99999", "-99999", "9999", "-9999", "-999"})

# The degree sign as it arrives: UTF-8, latin-1/cp1252 (same code point once decoded), UTF-8 read
# as cp1252 ("Â°", twice: "Ã‚Â°"), the ordinal and ring look-alikes, and a replacement character.
_DEGREE_LOOKALIKES = ("Ã‚Â°", "Â°", "Âº", "º", "˚", "\ufffd", "�")
_SPACES = re.compile(r"[\s\u00a0\u2009\u202f]+")


def clean(raw: str | None) -> str:
    """The text without surrounding blanks, with typographic minus signs and odd spaces made plain."""
    if raw is None:
        raise ParseError("no value", "missing")
    t = _SPACES.sub(" ", str(raw)).strip().replace("\u2212", "-").replace("\u2013", "-")
    if not t:
        raise ParseError("no value", "missing")
    if t.lower() in TEXT_SENTINELS:
        raise ParseError("a placeholder that means 'no value'", "sentinel")
    return t


def _check_sentinel(v: float) -> float:
    if v in NUMBER_SENTINELS:
        raise ParseError("a placeholder number that means 'no value' (9999, -999, ...)", "sentinel")
    return v


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?")


def _number(t: str) -> float:
    """A decimal number with a point or a comma (``36,1315``); thousands separators when both."""
    if "," in t:
        if "." in t:
            if t.rfind(",") > t.rfind("."):
                t = t.replace(".", "").replace(",", ".")  # 1.234,5
            else:
                t = t.replace(",", "")  # 1,234.5
        elif t.count(",") == 1:
            t = t.replace(",", ".")  # decimal comma
        else:
            raise ParseError("not a number")
    if not _NUMBER.fullmatch(t):
        raise ParseError("not a number")
    v = float(t)
    if not math.isfinite(v):
        raise ParseError("not a finite number")
    return v


def parse_number(raw: str | None) -> float:
    """Any plain number; placeholders (``NA``, ``nan``, ``-999``, ``99999``) raise 'sentinel'."""
    return _check_sentinel(_number(clean(raw)))


# --- coordinates --------------------------------------------------------------------------------
_HEMI = re.compile(r"^([NSEWnsew])\.?\s*|\s*([NSEWnsew])\.?$")
_DMS_SPLIT = re.compile(r"[°:'\"′″’´`”“\s]+|''")
COORDINATE_FORMATS = ("auto", "decimal", "dms", "ddmm", "nmea", "0-360")


def parse_coordinate(
    raw: str | None, axis: str = "lat", fmt: str | None = None, negate: bool = False
) -> float:
    """Decimal degrees, north and east positive.

    Accepts ``43.5``, ``43,5``, ``36.13 N``, ``S 12°30'``, ``43°0 0``, ``43°30'15.5"``, ``12:30:00 W``;
    with ``fmt="ddmm"`` the historical DD.MM form (43.4111 = 43°41.11'); with ``fmt="nmea"``
    DDDMM.mmm (4330.5 = 43°30.5'); with ``fmt="0-360"`` longitudes east of Greenwich up to 360.
    ``negate`` flips the sign (ZooProcess wrote some longitudes west-positive).
    """
    t = clean(raw)
    for bad in _DEGREE_LOOKALIKES:
        if bad in t:
            t = t.replace(bad, "°")
    fmt = (fmt or "auto").lower()
    hemi = ""
    m = _HEMI.search(t)
    if m:
        hemi = (m.group(1) or m.group(2)).upper()
        t = (t[: m.start()] + t[m.end() :]).strip()
        if not t:
            raise ParseError("a hemisphere letter without a number")
        if axis == "lat" and hemi in "EW" or axis == "lon" and hemi in "NS":
            raise ParseError(
                f"hemisphere letter {hemi} does not fit a {'latitude' if axis == 'lat' else 'longitude'}"
            )
    if t.startswith("+"):
        t = t[1:]
    negative = t.startswith("-")
    if negative:
        t = t[1:].lstrip()
    parts = [p for p in _DMS_SPLIT.split(t) if p]
    if not parts:
        raise ParseError("not a coordinate")
    if len(parts) == 1:
        tok = parts[0]
        try:
            v = _number(tok)
        except ParseError:
            raise ParseError(
                "not a coordinate (expected decimal degrees or degrees, minutes, seconds)"
            ) from None
        if not negative and not hemi and "°" not in t:
            _check_sentinel(v)
        elif negative:
            _check_sentinel(-v)
        if fmt == "ddmm":
            deg = math.floor(v)
            minutes = round((v - deg) * 100, 9)
            if minutes >= 60:
                raise ParseError(
                    "the minutes after the point are 60 or more: not DD.MM", "out_of_range"
                )
            v = deg + minutes / 60
        elif fmt == "nmea":
            deg = math.floor(v / 100)
            minutes = v - deg * 100
            if minutes >= 60:
                raise ParseError("the minutes are 60 or more: not DDDMM.mmm", "out_of_range")
            v = deg + minutes / 60
    elif len(parts) <= 3:
        if not re.fullmatch(r"\d+", parts[0]):
            raise ParseError(
                "not a coordinate (degrees must be a whole number when minutes follow)"
            )
        try:
            nums = [_number(p) for p in parts]
        except ParseError:
            raise ParseError("not a coordinate (expected degrees, minutes, seconds)") from None
        if any(x < 0 for x in nums[1:]):
            raise ParseError("minutes and seconds cannot be negative")
        if len(parts) == 3 and not re.fullmatch(r"\d+", parts[1]):
            raise ParseError("not a coordinate (minutes must be whole when seconds follow)")
        if nums[1] >= 60 or (len(nums) == 3 and nums[2] >= 60):
            raise ParseError("minutes and seconds must be below 60", "out_of_range")
        v = nums[0] + nums[1] / 60 + (nums[2] / 3600 if len(nums) == 3 else 0.0)
    else:
        raise ParseError("not a coordinate (too many numbers)")
    if negative or hemi in ("S", "W"):
        v = -v
    if negate:
        v = -v
    if axis == "lon" and fmt == "0-360" and 180 < v <= 360:
        v -= 360
    limit = 90 if axis == "lat" else 180
    if not -limit <= v <= limit:
        hint = "" if axis == "lat" else " (for longitudes from 0 to 360, use the format 0-360)"
        raise ParseError(f"outside -{limit}..{limit} degrees{hint}", "out_of_range")
    return v + 0.0  # no negative zero


# --- time zones, dates and times ---------------------------------------------------------------
_OFFSET = re.compile(r"(?:UTC|GMT|UT)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?", re.I)


def parse_timezone(text: str | None) -> tzinfo:
    """``UTC``, ``+02:00``, ``-0300``, ``UTC+2`` or an IANA name such as ``Europe/Berlin``."""
    t = (text or "").strip()
    if t.upper() in ("", "UTC", "Z", "GMT", "UT", "ZULU"):
        return UTC
    m = _OFFSET.fullmatch(t)
    if m:
        off = timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
        if off > timedelta(hours=14) or int(m.group(3) or 0) >= 60:
            raise ParseError("a UTC offset must be within ±14:00", "out_of_range", field="timezone")
        return timezone(off if m.group(1) == "+" else -off)
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        if ".." in t or t.startswith("/"):
            raise ValueError(t)
        return ZoneInfo(t)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ParseError(
            "not a time zone (write UTC, an offset such as +02:00, or a name such as Europe/Berlin)",
            field="timezone",
        ) from None


EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)


def check_instant(dt: datetime, now: datetime | None = None) -> datetime:
    """Refuse instants before 1900 or more than a day in the future: a wrong format or clock."""
    now = now or datetime.now(UTC)
    if dt < EARLIEST:
        raise ParseError("before 1900: check the format", "out_of_range")
    if dt > now + timedelta(days=1):
        raise ParseError("in the future: check the format or the instrument clock", "out_of_range")
    return dt


def _localize(dt: datetime, tz: tzinfo | str | None) -> datetime:
    if dt.tzinfo is None:
        zone = parse_timezone(tz) if isinstance(tz, str) or tz is None else tz
        dt = dt.replace(tzinfo=zone)
    return dt.astimezone(UTC)


_ISO = re.compile(
    r"(?P<Y>\d{4})(?P<s1>-?)(?P<m>\d{2})(?P=s1)(?P<d>\d{2})"
    r"(?:[T\s_-]?(?P<H>\d{2})(?P<s2>:?)(?P<M>\d{2})(?:(?P=s2)(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
    r"\s*(?P<z>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?",
    re.I,
)
_SLASHED = re.compile(
    r"(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<Y>\d{4})"
    r"(?:[T\s,]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
)
_YMD_SLASHED = re.compile(
    r"(?P<Y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})(?:[T\s]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
)
_DOY = re.compile(
    r"(?P<Y>\d{4})[-.\s_]?(?P<j>\d{3}(?:\.\d+)?)(?:[T\s_-](?P<H>\d{1,2}):?(?P<M>\d{2})(?::?(?P<S>\d{2}))?)?"
)
DATETIME_FORMATS = (
    "auto",
    "iso",
    "doy",
    "excel",
    "epoch",
    "epoch_ms",
    "%Y%m%d%H%M%S",
    "%d/%m/%Y %H:%M:%S",
    "...",
)


def _build(Y, mo, d, H=None, M=None, S=None, f=None) -> datetime:
    try:
        micro = int((f or "0")[:6].ljust(6, "0"))
        return datetime(int(Y), int(mo), int(d), int(H or 0), int(M or 0), int(S or 0), micro)
    except ValueError as exc:
        raise ParseError(f"not a real date or time ({exc})", "out_of_range") from None


def _day_month(a: int, b: int, sep: str, dayfirst: bool | None) -> tuple[int, int]:
    """(day, month) of ``a/b/YYYY``; dots are always day first (European); otherwise ask."""
    if sep == ".":
        return a, b
    if dayfirst is None:
        if a > 12 >= b:
            dayfirst = True
        elif b > 12 >= a:
            dayfirst = False
        elif a == b:
            dayfirst = True
        else:
            raise ParseError(
                "day and month could be either way round (DD/MM/YYYY or MM/DD/YYYY): "
                "choose the format, e.g. %d/%m/%Y",
                "ambiguous",
            )
    return (a, b) if dayfirst else (b, a)


def _zone_of(z: str | None) -> tzinfo | None:
    if not z:
        return None
    if z.upper() in ("Z", "UTC", "GMT"):
        return UTC
    return parse_timezone(z)


def _parse_auto(t: str, dayfirst: bool | None, *, iso_only: bool = False) -> datetime:
    m = _ISO.fullmatch(t)
    if m:
        if m.group("H") is None and m.group("s1") == "" and len(t) != 8:
            raise ParseError("not a date and time")
        dt = _build(m["Y"], m["m"], m["d"], m["H"], m["M"], m["S"], m["f"])
        zone = _zone_of(m["z"])
        return dt.replace(tzinfo=zone) if zone else dt
    if not iso_only:
        m = _SLASHED.fullmatch(t)
        if m:
            day, month = _day_month(int(m["a"]), int(m["b"]), m["sep"], dayfirst)
            return _build(m["Y"], month, day, m["H"], m["M"], m["S"], m["f"])
        m = _YMD_SLASHED.fullmatch(t)
        if m:
            return _build(m["Y"], m["m"], m["d"], m["H"], m["M"], m["S"], m["f"])
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        raise ParseError(
            "not a date and time (expected e.g. 2020-02-05T11:18:23Z or 20200205-111823)"
        ) from None
    return dt


EXCEL_EPOCH = datetime(1899, 12, 30)


def _from_days(days: float) -> datetime:
    if not -1e6 < days < 1e6:
        raise ParseError("not an Excel date (too large)", "out_of_range")
    # Excel keeps milliseconds; rounding there undoes the float's last digits.
    return EXCEL_EPOCH + timedelta(milliseconds=round(days * 86_400_000))


def _parse_doy(t: str) -> datetime:
    m = _DOY.fullmatch(t)
    if not m:
        raise ParseError("not a year and day of year (expected YYYY-DDD, e.g. 2020-036)")
    year, j = int(m["Y"]), float(m["j"])
    days_in_year = 366 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 365
    if not 1 <= j < days_in_year + 1:
        raise ParseError("day of year must be 1..365 (366 in leap years)", "out_of_range")
    whole = int(j)
    dt = datetime(year, 1, 1) + timedelta(days=whole - 1)
    if j != whole:
        return dt + timedelta(milliseconds=round((j - whole) * 86_400_000))
    return dt.replace(hour=int(m["H"] or 0), minute=int(m["M"] or 0), second=int(m["S"] or 0))


def parse_datetime(
    raw: str | None,
    fmt: str | None = None,
    tz: tzinfo | str | None = None,
    dayfirst: bool | None = None,
    *,
    now: datetime | None = None,
) -> datetime:
    """An aware UTC instant.  ``fmt``: None/"auto", "iso", a strptime string, "doy", "excel",
    "epoch" (seconds since 1970-01-01 UTC) or "epoch_ms"; ``tz`` is the zone of values written
    without one."""
    t = clean(raw)
    f = (fmt or "auto").strip()
    fl = f.lower()
    try:
        if "%" in f:
            dt = datetime.strptime(t, f)
        elif fl in ("auto", "iso"):
            dt = _parse_auto(t, dayfirst, iso_only=fl == "iso")
        elif fl in ("epoch", "epoch_s", "unix"):
            dt = datetime.fromtimestamp(0, UTC) + timedelta(microseconds=round(_number(t) * 1e6))
        elif fl == "epoch_ms":
            dt = datetime.fromtimestamp(0, UTC) + timedelta(milliseconds=_number(t))
        elif fl == "excel":
            dt = _from_days(_number(t))
        elif fl == "doy":
            dt = _parse_doy(t)
        else:
            raise ParseError(f"unknown date-time format {f!r}")
    except ParseError:
        raise
    except (ValueError, OverflowError, TypeError) as exc:
        msg = "does not match the format " + f if "%" in f else f"not a date and time ({exc})"
        raise ParseError(msg) from None
    try:
        dt = _localize(dt, tz)
    except (OverflowError, ValueError):
        raise ParseError("out of the range of dates", "out_of_range") from None
    return check_instant(dt, now)


DATE_FORMATS = ("auto", "iso", "doy", "excel", "%Y%m%d", "%d/%m/%Y", "%m/%d/%Y", "...")


def parse_date(raw: str | None, fmt: str | None = None, dayfirst: bool | None = None) -> date:
    """A calendar date: YYYYMMDD, YYYY-MM-DD, YYYY/MM/DD, DD.MM.YYYY, DD/MM/YYYY (asks when it
    cannot tell day from month), or with ``fmt``: a strptime string, "doy" (YYYY-DDD), "excel"."""
    t = clean(raw)
    f = (fmt or "auto").strip()
    fl = f.lower()
    try:
        if "%" in f:
            d = datetime.strptime(t, f).date()
        elif fl == "excel":
            d = _from_days(float(int(_number(t)))).date()
        elif fl == "doy":
            d = _parse_doy(t).date()
        elif fl in ("auto", "iso"):
            m = _ISO.fullmatch(t)
            midnight = m is not None and (
                m["H"] is None or {m["H"], m["M"], m["S"] or "00"} == {"00"}
            )
            if m and midnight and not m["z"] and not (m["f"] or "").strip("0"):
                # a spreadsheet's date cell often reads "2014-04-20 00:00:00"
                d = _build(m["Y"], m["m"], m["d"]).date()
            elif fl == "iso":
                raise ParseError("not a date (expected YYYY-MM-DD)")
            elif m2 := re.fullmatch(
                r"(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<Y>\d{4})", t
            ):
                day, month = _day_month(int(m2["a"]), int(m2["b"]), m2["sep"], dayfirst)
                d = _build(m2["Y"], month, day).date()
            elif m3 := re.fullmatch(r"(\d{4})/(\d{1,2})/(\d{1,2})", t):
                d = _build(*m3.groups()).date()
            else:
                raise ParseError("not a date (expected e.g. 20200205, 2020-02-05 or 05/02/2020)")
        else:
            raise ParseError(f"unknown date format {f!r}")
    except ParseError:
        raise
    except (ValueError, OverflowError, TypeError):
        raise ParseError("does not match the format " + f) from None
    if d.year < 1900:
        raise ParseError("before 1900: check the format", "out_of_range")
    return d


_CLOCK = re.compile(
    r"(\d{1,2})\s*[:hH]\s*(\d{1,2})(?:\s*[:mM']\s*(\d{1,2}(?:[.,]\d+)?)\s*[sS]?)?\s*(?:[hH]|(?i:am|pm))?"
)
_AMPM = re.compile(r"(.*?)\s*([ap])\.?m\.?", re.I)
_DIGITS = re.compile(r"(\d{1,6})(?:[.,](\d+))?")
TIME_FORMATS = ("auto", "hhmm", "hhmmss", "excel", "%H:%M:%S", "...")


def parse_time(raw: str | None, fmt: str | None = None, width: int | None = None) -> float:
    """Seconds since midnight.  ``HH:MM[:SS[.s]]``, ``14h30``, and digits with leading zeros lost:
    ``420`` is 04:20 (HMM), ``111823`` is 11:18:23.  ``width`` (4 or 6) says how many digits the
    column's longest value has, so ``815`` reads 08:15 in an HHMM column and 00:08:15 in HHMMSS."""
    t = clean(raw)
    f = (fmt or "auto").strip()
    fl = f.lower()
    if "%" in f:
        try:
            d = datetime.strptime(t, f)
        except ValueError:
            raise ParseError("does not match the format " + f) from None
        return d.hour * 3600 + d.minute * 60 + d.second + d.microsecond / 1e6
    if fl == "excel":
        v = _number(t)
        if not 0 <= v < 1:
            raise ParseError("an Excel time is a fraction of a day (0 to 1)", "out_of_range")
        return round(v * 86_400_000) / 1000
    if fl not in ("auto", "hhmm", "hhmmss", "hmm"):
        raise ParseError(f"unknown time format {f!r}")
    pm = None
    m = _AMPM.fullmatch(t)
    if m:
        t, pm = m.group(1), m.group(2).lower() == "p"
    m = _CLOCK.fullmatch(t)
    if m:
        h, mi = int(m.group(1)), int(m.group(2))
        s = float(m.group(3).replace(",", ".")) if m.group(3) else 0.0
    else:
        m = _DIGITS.fullmatch(t)
        if not m:
            raise ParseError("not a time of day (expected HH:MM:SS, HHMMSS or HMM such as 420)")
        digits, frac = m.group(1), m.group(2)
        w = {"hhmm": 4, "hmm": 4, "hhmmss": 6}.get(fl) or width or (4 if len(digits) <= 4 else 6)
        if len(digits) > w:
            raise ParseError(f"more digits than {'HHMM' if w == 4 else 'HHMMSS'}")
        if frac and w != 6:
            raise ParseError("a fraction after HHMM: write HHMMSS.s or HH:MM:SS.s")
        padded = digits.zfill(w)
        h, mi = int(padded[:2]), int(padded[2:4])
        s = float(padded[4:6] + "." + (frac or "0")) if w == 6 else 0.0
    if pm is not None:
        if not 1 <= h <= 12:
            raise ParseError("hours must be 1..12 with am/pm", "out_of_range")
        h = h % 12 + (12 if pm else 0)
    if not (0 <= h < 24 and 0 <= mi < 60 and 0 <= s < 60):
        raise ParseError("not a time of day (hours 0-23, minutes and seconds 0-59)", "out_of_range")
    return h * 3600 + mi * 60 + s


def combine(
    d: date, seconds: float, tz: tzinfo | str | None = None, *, now: datetime | None = None
) -> datetime:
    """Date + seconds since midnight, in ``tz``, as an aware UTC instant."""
    dt = datetime(d.year, d.month, d.day) + timedelta(microseconds=round(seconds * 1e6))
    return check_instant(_localize(dt, tz), now)


# --- lengths and pixel sizes ---------------------------------------------------------------------
LENGTH_UNITS = {
    "m": 1.0,
    "cm": 0.01,
    "mm": 0.001,
    "km": 1000.0,
    "dbar": 1.0,
    "db": 1.0,
    "ft": 0.3048,
}
_UNIT_SUFFIX = re.compile(r"(.*?\d\.?)\s*([a-zA-Zµμ/]+)\.?")


def _split_unit(t: str) -> tuple[str, str | None]:
    m = _UNIT_SUFFIX.fullmatch(t)
    return (m.group(1), m.group(2)) if m else (t, None)


def parse_length(raw: str | None, unit: str | None = None, *, negate: bool = False) -> float:
    """Metres.  Units: m, cm, mm, km, dbar (1 dbar ≈ 1 m of sea water), ft; a unit written in
    the cell (``150 cm``) wins over ``unit``."""
    t = clean(raw)
    t, written = _split_unit(t)
    u = (written or unit or "m").lower()
    if u not in LENGTH_UNITS:
        raise ParseError(f"unknown length unit {u!r} (m, cm, mm, km, dbar, ft)")
    v = parse_number(t) * LENGTH_UNITS[u]
    return -v if negate else v


def check_depth(v: float) -> float:
    """Depth is positive down; above the surface or deeper than the deepest trench is wrong."""
    if v < 0:
        raise ParseError(
            "depth is negative (above the water surface); if the instrument writes depth as a "
            "negative number, set negate for this field",
            "negative_depth",
        )
    if v > 11_100:
        raise ParseError("deeper than the deepest ocean: check the unit", "out_of_range")
    return v


_PIXEL_UNITS = {
    "um": 1.0,
    "µm": 1.0,
    "μm": 1.0,
    "micron": 1.0,
    "microns": 1.0,
    "um/px": 1.0,
    "µm/px": 1.0,
    "nm": 0.001,
    "nm/px": 0.001,
    "mm": 1000.0,
    "mm/px": 1000.0,
    "cm": 10000.0,
}
_PER_LENGTH = {
    "px/um": 1.0,
    "px/µm": 1.0,
    "px/μm": 1.0,
    "px/mm": 1000.0,
    "px/cm": 10000.0,
    "dpi": 25400.0,
    "px/in": 25400.0,
    "ppi": 25400.0,
}
PIXEL_SIZE_UNITS = ("um", "nm", "mm", "px/um", "px/mm", "px/cm", "dpi")


def parse_pixel_size(raw: str | None, unit: str | None = None) -> float:
    """Micrometres per pixel, from µm, nm, mm (per pixel) or px/µm, px/mm, px/cm, dpi."""
    t = clean(raw)
    t, written = _split_unit(t)
    u = (
        (written or unit or "um")
        .lower()
        .replace("pixel", "px")
        .replace("micrometers", "um")
        .replace(" ", "")
    )
    v = parse_number(t)
    if u in _PIXEL_UNITS:
        out = v * _PIXEL_UNITS[u]
    elif u in _PER_LENGTH:
        if v <= 0:
            raise ParseError("pixels per length must be above 0", "out_of_range")
        out = _PER_LENGTH[u] / v
    else:
        raise ParseError(f"unknown pixel size unit {u!r} ({', '.join(PIXEL_SIZE_UNITS)})")
    if not 0.001 <= out <= 100_000:
        raise ParseError("not a plausible pixel size: check the unit", "out_of_range")
    return out


# Pixel sizes each instrument can have, in µm (generous: a wrong unit is off by 1000, not by 2).
PIXEL_SIZE_RANGES: dict[str, tuple[float, float]] = {
    "planktoscope": (0.1, 20.0),
    "ifcb": (0.05, 5.0),
    "flowcam": (0.05, 50.0),
    "uvp5": (20.0, 500.0),
    "uvp6": (20.0, 500.0),
    "zooscan": (2.0, 100.0),
    "microscopy": (0.005, 50.0),
    "isiis": (5.0, 500.0),
}


def check_pixel_size(v: float, kind: str | None) -> float:
    lo, hi = PIXEL_SIZE_RANGES.get((kind or "").lower(), (0.001, 100_000))
    if not lo <= v <= hi:
        raise ParseError(
            f"implausible for a {kind} ({lo:g} to {hi:g} µm expected): check the unit",
            "implausible",
        )
    return v


def parse_bool(raw: str | None) -> bool:
    t = (raw or "").strip().lower()
    if t in ("1", "y", "yes", "true", "on", "ok", "confirmed"):
        return True
    if t in ("", "0", "n", "no", "false", "off"):
        return False
    raise ParseError("expected yes or no")


# --- the first version's names (FieldSpec-based), kept for callers ------------------------------
def parse_float(raw: str | None) -> float:
    return parse_number(raw)


def parse_float_spec(raw, spec) -> float:
    return parse_number(raw)


def parse_coordinate_spec(raw, spec, axis: str = "lat") -> float:
    return parse_coordinate(raw, axis, spec.format, bool(getattr(spec, "negate", False)))


def parse_datetime_spec(raw, spec, tz: str | None = None) -> pd.Timestamp:
    return pd.Timestamp(parse_datetime(raw, spec.format, tz))


def parse_date_spec(raw, spec) -> date:
    return parse_date(raw, spec.format)


def parse_time_spec(raw, spec) -> float:
    return parse_time(raw, spec.format)


def parse_length_spec(raw, spec) -> float:
    return parse_length(raw, spec.unit, negate=bool(getattr(spec, "negate", False)))


def parse_pixel_size_spec(raw, spec) -> float:
    return parse_pixel_size(raw, spec.unit)
