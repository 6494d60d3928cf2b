"""Cross-field rules: named steps run in order while one scan is mapped.

The loop in ``apply.py`` converts each mapped field (``convert.py``); a step runs right after the
field it follows (``Step.after``), so it sees every field before it.  A step derives a field
nothing is mapped to (datetime from date and time, depth from a range, altitude from depth) or
checks fields together (0,0 positions, a range's order, repeated object ids).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from ..problems import Problem
from . import bulk, parsers
from .convert import dayfirst_of
from .mapped import INVALID, OK
from .state import ScanState
from .values import EPOCH, NAT, Result, Source, all_invalid, convert_values


@dataclass(frozen=True)
class Step:
    name: str  # the rule, in words (for a reader of the code and of a traceback)
    after: str  # the field it follows: it runs once that field is converted
    run: Callable[[ScanState], None]


def datetime_from_date_and_time(st: ScanState) -> None:
    """Date and time in separate columns (or a date alone: 00:00 of its day)."""
    s_d = st.src("date")  # looked at even when datetime is mapped: a missing column is told
    if "datetime" in st.out or s_d is None:
        return
    s_t = st.src("time")
    dfmt, dayfirst, tz, now = s_d.spec.format, dayfirst_of(s_d), st.settings.tz, st.now
    if s_t is not None:
        tfmt = s_t.spec.format
        width = None
        if tfmt in (None, "auto"):
            lens = [
                len(v.strip())
                for v in pd.unique(s_t.raw)
                if isinstance(v, str) and v.strip().isdigit()
            ]
            width = (6 if max(lens) > 4 else 4) if lens else None
        st.out["datetime"] = date_and_time(s_d, s_t, dfmt, dayfirst, tfmt, width, tz, now)
        return
    st.problems.append(
        Problem(
            "no_time",
            "only a date is mapped: every image is taken at 00:00 of its day",
            field="time",
            severity="warning",
        )
    )
    st.out["datetime"] = convert_values(
        "datetime",
        [s_d],
        lambda d: parsers.combine(parsers.parse_date(d, dfmt, dayfirst), 0.0, tz, now=now),
        "ns",
    )


def unusable_timezone(st: ScanState) -> None:
    """Local times in a time zone that could not be read are not times at all."""
    if st.settings.tz_bad and "datetime" in st.out:
        st.out["datetime"] = all_invalid(st.out["datetime"], "bad_setting")


def default_position(st: ScanState) -> None:
    """A position of exactly 0,0 is an instrument's default unless the user confirmed it."""
    lat, lon = st.out.get("latitude"), st.out.get("longitude")
    if lat is None or lon is None:
        return
    zero = (lat.status == OK) & (lon.status == OK) & (lat.values == 0) & (lon.values == 0)
    if not zero.any() or st.settings.zero_ok:
        return
    s_lat = st.src("latitude")
    for r in (lat, lon):
        r.status[zero] = INVALID
        r.kind[zero] = "default_position"
    msg = "latitude and longitude are both 0, the default of instruments without GPS: map the real position, or confirm that the samples were taken at 0, 0 (zero_position_confirmed)"
    if s_lat is not None and s_lat.per_item:
        for i in np.flatnonzero(zero).tolist():
            st.problems.append(s_lat.problem(i, "default_position", msg, value="0, 0"))
    else:
        st.problems.append(
            Problem(
                "default_position",
                msg + " (the value given for every image)",
                field="latitude",
                value="0, 0",
            )
        )


def depth_range_order(st: ScanState) -> None:
    """A range's top is the shallower end, whichever column holds it (ZooProcess headers and
    log sheets write a net's Zmin/Zmax either way round)."""
    a, b = st.out.get("depth_min"), st.out.get("depth_max")
    if a is None or b is None:
        return
    flip = (a.status == OK) & (b.status == OK) & (a.values > b.values)
    if flip.any():
        a.values[flip], b.values[flip] = b.values[flip], a.values[flip].copy()


def depth_from_range(st: ScanState) -> None:
    """Depth, when only a range is mapped: its middle, or the one end there is.  depth_min and
    depth_max reported their own problems."""
    if "depth" in st.out:
        return
    a, b = st.out.get("depth_min"), st.out.get("depth_max")
    if a is not None and b is not None:
        status = np.maximum(a.status, b.status)
        kind = np.where(a.status != OK, a.kind, b.kind)
        st.out["depth"] = Result((a.values + b.values) / 2, status, kind, [])
    elif a is not None or b is not None:
        one = a if a is not None else b
        st.out["depth"] = Result(one.values.copy(), one.status.copy(), one.kind.copy(), [])


def altitude_from_depth(st: ScanState) -> None:
    """Altitude, when only depth is known: the water surface's altitude (0 at sea) minus depth."""
    if "altitude" in st.out or "depth" not in st.out:
        return
    d = st.out["depth"]
    surface = st.settings.surface if st.settings.surface is not None else 0.0
    res = Result(surface - d.values, d.status.copy(), d.kind.copy(), [])
    st.out["altitude"] = all_invalid(res, "bad_setting") if st.settings.surface_bad else res


def duplicate_object_ids(st: ScanState) -> None:
    """Images whose object id another image already has (a warning: both are packed)."""
    s = st.src("object_id")
    if s is not None and s.per_item and "object_id" in st.out:
        st.problems.extend(_duplicates(s, st.out["object_id"]))


STEPS: tuple[Step, ...] = (
    Step("datetime from date and time", "datetime", datetime_from_date_and_time),
    Step("an unreadable time zone makes local times invalid", "datetime", unusable_timezone),
    Step("0,0 is an instrument's default position", "longitude", default_position),
    Step("a depth range's top is its shallower end", "depth_max", depth_range_order),
    Step("depth is the middle of a depth range", "depth_max", depth_from_range),
    Step("altitude is the surface's altitude minus depth", "altitude", altitude_from_depth),
    Step("object ids name one image each", "object_id", duplicate_object_ids),
)


def _duplicates(s: Source, res: Result) -> list[Problem]:
    """Images whose object id another image already has (a warning: both are packed)."""
    ids = pd.Series(res.values, dtype=object)
    dup = (ids.duplicated(keep="first") & ids.notna()).to_numpy()
    if not dup.any():
        return []
    first = {v: i for i, v in reversed(list(enumerate(res.values.tolist()))) if v is not None}
    out = []
    for i in np.flatnonzero(dup).tolist():
        j = first[res.values[i]]
        where = f"row {s.row[j]}" if s.row[j] is not None else str(s.file[j])
        msg = f"another image has the same object id ({where})"
        out.append(s.problem(i, "duplicate_id", msg, value=res.values[i], severity="warning"))
    return out


def date_and_time(
    s_d: Source,
    s_t: Source,
    dfmt: str | None,
    dayfirst: bool | None,
    tfmt: str | None,
    width: int | None,
    tz,
    now: datetime,
) -> Result:
    """Dates and times parsed apart (each distinct value once), joined as arrays, then placed in
    the dataset's time zone: a cruise has few dates and many times, never many of both."""

    def day(d):
        x = parsers.parse_date(d, dfmt, dayfirst)
        return datetime(x.year, x.month, x.day, tzinfo=UTC)

    dres = convert_values("date", [s_d], day, "ns")
    tres = convert_values(
        "time",
        [s_t],
        lambda t: parsers.parse_time(t, tfmt, width),
        "float",
        fast=bulk.fast_time(tfmt, width),
    )
    ok = (dres.status == OK) & (tres.status == OK)
    m = len(ok)
    wall = np.full(m, NAT, dtype=np.int64)
    wall[ok] = dres.values[ok] + np.round(tres.values[ok] * 1e9).astype(np.int64)
    utc = np.full(m, NAT, dtype=np.int64)
    off = tz.utcoffset(None) if not hasattr(tz, "key") else None
    if off is not None:
        utc[ok] = wall[ok] - int(off.total_seconds()) * 1_000_000_000
    elif ok.any():
        uniq, inv = np.unique(wall[ok], return_inverse=True)
        conv = np.empty(len(uniq), dtype=np.int64)
        for j, ns in enumerate(uniq.tolist()):
            local = datetime(1970, 1, 1) + timedelta(microseconds=ns // 1000)
            d = local.replace(tzinfo=tz).astimezone(UTC) - EPOCH
            conv[j] = (
                (d.days * 86_400 + d.seconds) * 1_000_000_000 + d.microseconds * 1000 + ns % 1000
            )
        utc[ok] = conv[inv]
    status = np.where(dres.status != OK, dres.status, tres.status).astype(np.int8)
    kind = np.where(dres.status != OK, dres.kind, tres.kind)
    early = int((parsers.EARLIEST - EPOCH) / timedelta(microseconds=1)) * 1000
    late = int((now + timedelta(days=1) - EPOCH) / timedelta(microseconds=1)) * 1000
    bad = ok & ((utc < early) | (utc > late))
    problems = dres.problems + tres.problems
    for i in np.flatnonzero(bad).tolist():
        msg = (
            "before 1900: check the format"
            if utc[i] < early
            else "in the future: check the format or the instrument clock"
        )
        problems.append(s_d.problem(i, "out_of_range", msg, value=f"{s_d.raw[i]} {s_t.raw[i]}"))
    status[bad] = INVALID
    kind[bad] = "out_of_range"
    utc[status != OK] = NAT
    return Result(utc, status, kind, problems)
