"""Parsers that accept what a field really contains.  Each raises ``ParseError`` (never anything
else) with a message a person understands; ``kind`` says which problem it is."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone

import pandas as pd

SENTINELS = {"", "na", "nan", "n/a", "none", "null", "-", "99999", "-99999", "9999", "-9999", "-999"}


class ParseError(ValueError):
    def __init__(self, message: str, kind: str = "unparseable"):
        super().__init__(message)
        self.kind = kind


def _blank(raw: str | None) -> bool:
    return raw is None or raw.strip().lower() in ("", "na", "nan", "n/a", "none", "null")


def parse_float(raw: str | None) -> float:
    if raw is None:
        raise ParseError("no value", "missing")
    t = raw.strip().replace(",", ".")
    if t.lower() in SENTINELS:
        raise ParseError(f"{raw!r} means 'no value'", "sentinel" if t else "missing")
    try:
        v = float(t)
    except ValueError:
        raise ParseError(f"{raw!r} is not a number") from None
    if not math.isfinite(v):
        raise ParseError(f"{raw!r} is not a finite number")
    return v


def parse_float_spec(raw, spec):
    if _blank(raw):
        raise ParseError("no value", "missing")
    return parse_float(raw)


_DMS = re.compile(r"^\s*([NSEW])?\s*(-?\d+(?:[.,]\d+)?)\s*[°º\s:]\s*(\d+(?:[.,]\d+)?)?\s*['′]?\s*(\d+(?:[.,]\d+)?)?\s*(?:\"|″|'')?\s*([NSEW])?\s*$", re.I)


def parse_coordinate_spec(raw, spec, axis: str = "lat") -> float:
    if _blank(raw):
        raise ParseError("no value", "missing")
    t = raw.strip().replace("Â°", "°")
    fmt = (spec.format or "").lower()
    try:
        v = parse_float(t)
        if fmt == "ddmm":
            sign = -1 if v < 0 else 1
            a = abs(v)
            deg = int(a)
            v = sign * (deg + (a - deg) * 100 / 60)
    except ParseError as exc:
        if exc.kind == "sentinel":
            raise
        m = _DMS.match(t)
        if not m:
            raise ParseError(f"{raw!r} is not a coordinate") from None
        h1, d, mnt, sec, h2 = m.groups()
        deg = float(d.replace(",", "."))
        v = abs(deg) + float((mnt or "0").replace(",", ".")) / 60 + float((sec or "0").replace(",", ".")) / 3600
        hemi = (h1 or h2 or "").upper()
        if deg < 0 or hemi in ("S", "W"):
            v = -v
    limit = 90 if axis == "lat" else 180
    if not -limit <= v <= limit:
        raise ParseError(f"{raw!r} is outside -{limit}..{limit} degrees", "out_of_range")
    return v


def _tz(tz: str | None):
    if not tz or tz.upper() in ("UTC", "Z", "GMT"):
        return UTC
    m = re.fullmatch(r"([+-])(\d{1,2}):?(\d{2})?", tz.strip())
    if m:
        off = timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
        return timezone(off if m.group(1) == "+" else -off)
    from zoneinfo import ZoneInfo

    return ZoneInfo(tz)


def parse_datetime_spec(raw, spec, tz: str | None = None) -> pd.Timestamp:
    if _blank(raw):
        raise ParseError("no value", "missing")
    t = raw.strip()
    try:
        if spec.format and "%" in spec.format:
            dt = datetime.strptime(t, spec.format)
        else:
            dt = pd.Timestamp(t).to_pydatetime()
    except (ValueError, TypeError):
        raise ParseError(f"{raw!r} is not a date and time") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=_tz(tz))
    ts = pd.Timestamp(dt).tz_convert("UTC")
    _check_year(ts, raw)
    return ts


def _check_year(ts: pd.Timestamp, raw: str) -> None:
    if ts.year < 1900 or ts > pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1):
        raise ParseError(f"{raw!r} is before 1900 or in the future", "out_of_range")


def parse_date_spec(raw, spec):
    if _blank(raw):
        raise ParseError("no value", "missing")
    t = raw.strip()
    for fmt in ([spec.format] if spec.format and "%" in spec.format else []) + ["%Y%m%d", "%Y-%m-%d", "%Y/%m/%d"]:
        try:
            return datetime.strptime(t, fmt).date()
        except ValueError:
            continue
    raise ParseError(f"{raw!r} is not a date")


def parse_time_spec(raw, spec) -> float:
    """Seconds since midnight."""
    if _blank(raw):
        raise ParseError("no value", "missing")
    t = raw.strip()
    if ":" in t:
        parts = t.split(":")
    else:
        if not t.isdigit() or len(t) > 6:
            raise ParseError(f"{raw!r} is not a time of day")
        t = t.zfill(6) if len(t) > 4 else t.zfill(4) + "00"
        parts = [t[0:2], t[2:4], t[4:6]]
    try:
        h, m = int(parts[0]), int(parts[1])
        s = float(parts[2]) if len(parts) > 2 else 0.0
    except (ValueError, IndexError):
        raise ParseError(f"{raw!r} is not a time of day") from None
    if not (0 <= h < 24 and 0 <= m < 60 and 0 <= s < 61):
        raise ParseError(f"{raw!r} is not a time of day", "out_of_range")
    return h * 3600 + m * 60 + s


def combine(d, seconds: float, tz: str | None) -> pd.Timestamp:
    dt = datetime(d.year, d.month, d.day, tzinfo=_tz(tz)) + timedelta(seconds=seconds)
    return pd.Timestamp(dt).tz_convert("UTC")


_LENGTH = {"m": 1.0, "cm": 0.01, "mm": 0.001, "dbar": 1.0, "km": 1000.0}


def parse_length_spec(raw, spec) -> float:
    if _blank(raw):
        raise ParseError("no value", "missing")
    v = parse_float(raw)
    return v * _LENGTH.get((spec.unit or "m").lower(), 1.0)


def parse_pixel_size_spec(raw, spec) -> float:
    if _blank(raw):
        raise ParseError("no value", "missing")
    v = parse_float(raw)
    unit = (spec.unit or "um").lower().replace("µ", "u")
    if unit in ("um", "micron", "um/px"):
        out = v
    elif unit in ("mm", "mm/px"):
        out = v * 1000
    elif unit == "px/um":
        out = 1 / v if v else math.inf
    elif unit == "px/mm":
        out = 1000 / v if v else math.inf
    elif unit == "dpi":
        out = 25400 / v if v else math.inf
    else:
        raise ParseError(f"unknown pixel size unit {spec.unit!r}")
    if not (0 < out < 100000):
        raise ParseError(f"{raw!r} {unit} is not a plausible pixel size", "out_of_range")
    return out
