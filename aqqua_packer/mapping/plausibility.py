"""Plausibility: converted values that parse but cannot be right, or need a person to confirm them.

Run by ``apply_mapping`` after every field is converted.  Each rule is a small named function over
the converted columns; ``RULES`` lists them in the order they run.  A rule is either

- *impossible* (the value cannot be true: a factory default, a marine sample far inland): the image
  is not ready until the mapping gives the real value; it cannot be accepted;
- *suspicious* (possible but unusual: a date before the instrument existed, a 60-knot ship): the
  image is not ready until someone confirms it (``--accept KIND[:FIELD]``, a checkbox in the
  wizard), and the confirmation is written to the package's ``image-set.toml``.

Values that do not parse, lie outside -90..90 / -180..180, are deeper than 11,100 m or in the
future are already refused while parsing (``parsers``: kind ``out_of_range``).  docs/mapping.md,
"Plausibility", says in plain words what each rule checks and why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from ..problems import Problem, UserError
from ..sources.base import Scan
from .instrument_facts import (
    DEFAULT_DATES,
    FIRST_USE,
    PLANKTOSCOPE_CLOCK_START,
    USUAL_PIXEL_SIZE,
    USUAL_VOLUME_L,
    instrument_of,
)
from .landmask import LAND_PROBE_KM, inland

IMPOSSIBLE, SUSPICIOUS = "impossible", "suspicious"


@dataclass(frozen=True)
class Hit:
    """Items one rule flags, with the value shown per item and the plain-words message."""

    items: np.ndarray  # item indices
    values: Sequence[str]  # one per item
    message: str


@dataclass
class Context:
    """The converted values a rule looks at, one entry per item (NaN / NaT where not valid)."""

    instrument: np.ndarray  # reader kind or the instrument the table names: "planktoscope", ...
    scan: np.ndarray  # scan index per item
    time_ns: np.ndarray  # int64 ns since the epoch, UTC; NaT as int64 min
    lat: np.ndarray
    lon: np.ndarray
    pixel_size: np.ndarray
    volume: np.ndarray
    freshwater: bool = False
    names: Callable[[], Sequence[str]] | None = None  # the image file names, asked for lazily
    # Items an impossible rule already flagged: later rules do not compare others with them.
    held: np.ndarray | None = None
    # The latitude's problem kind per item when it did not convert ("out_of_range", ...), and the
    # longitude as converted even where the latitude failed (for the swapped-columns hint).
    lat_kind: np.ndarray | None = None
    lon_any: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.lat)

    def valid_time(self) -> np.ndarray:
        return self.time_ns != np.iinfo(np.int64).min

    def valid_position(self) -> np.ndarray:
        return np.isfinite(self.lat) & np.isfinite(self.lon)


@dataclass(frozen=True)
class Rule:
    kind: str  # the problem kind in the report and the name --accept takes
    level: str  # IMPOSSIBLE or SUSPICIOUS
    field: str  # the field the problem is reported on
    words: str  # a few words for the text report's group heading
    check: Callable[[Context], list[Hit]]


# --- impossible ---------------------------------------------------------------------------------------
SWAPPED_SHARE = 0.5


def swapped_position(ctx: Context) -> list[Hit]:
    """Latitudes beyond ±90 beside longitudes within ±90, in at least half of a source's rows:
    the columns are swapped (a swap takes the whole column; one bad latitude is a typo, refused
    as out of range on its own)."""
    if ctx.lat_kind is None or ctx.lon_any is None:
        return []
    lon_ok = np.isfinite(ctx.lon_any)
    bad = (ctx.lat_kind == "out_of_range") & lon_ok & (np.abs(ctx.lon_any) <= 90)
    if not bad.any():
        return []
    for s in np.unique(ctx.scan[bad]).tolist():
        in_scan = ctx.scan == s
        if bad[in_scan].sum() < SWAPPED_SHARE * max(int(lon_ok[in_scan].sum()), 1):
            bad &= ~in_scan
    if not bad.any():
        return []
    idx = np.flatnonzero(bad)
    return [
        Hit(
            idx,
            [f"longitude {ctx.lon_any[i]:g}" for i in idx],
            "the latitude is beyond ±90° while the longitude would make a latitude: are the "
            "latitude and longitude columns swapped? Map each to the other",
        )
    ]


def factory_default(ctx: Context) -> list[Hit]:
    """PlanktoScope writes latitude -90, longitude 0 when nobody entered the position (see
    ../shared/fixtures-real/planktoscope_corrections: 40 of 40 corrected runs); latitude -90 is the
    South Pole, under 2,800 m of ice, for any instrument."""
    ok = ctx.valid_position()
    pole = ok & (ctx.lat == -90.0)
    if not pole.any():
        return []
    ps = pole & (ctx.instrument == "planktoscope") & (ctx.lon == 0.0)
    hits = []
    if ps.any():
        idx = np.flatnonzero(ps)
        hits.append(
            Hit(
                idx,
                ["-90, 0"] * len(idx),
                "latitude -90, longitude 0 is what a PlanktoScope writes when nobody entered the "
                "position (its depth 0 and its clock's date are then defaults too): map or set the "
                "real position",
            )
        )
    other = pole & ~ps
    if other.any():
        idx = np.flatnonzero(other)
        hits.append(
            Hit(
                idx,
                [f"-90, {x:g}" for x in ctx.lon[idx]],
                "latitude -90 is the South Pole, under 2,800 m of ice: an instrument's default, not "
                "a sampling position; map or set the real position",
            )
        )
    return hits


# A microscope stands in a lab and images samples from anywhere, lakes and ponds included: its
# dataset's position is not checked against the coast.
LAB_INSTRUMENTS = ("microscopy",)


def on_land(ctx: Context) -> list[Hit]:
    """A sample of sea water taken further than 5 km inland is a wrong position (a sign or a
    degrees.minutes error, or swapped latitude and longitude); freshwater datasets are exempt."""
    if ctx.freshwater:
        return []
    ok = ctx.valid_position() & (ctx.lat > -90.0)  # -90 is factory_default's
    ok &= ~np.isin(ctx.instrument, LAB_INSTRUMENTS)
    if not ok.any():
        return []
    lat, lon = ctx.lat[ok], ctx.lon[ok]
    a, ua = pd.factorize(lat)  # each distinct position once: hashing, not sorting
    b, ub = pd.factorize(lon)
    codes, first = pd.factorize(a.astype(np.int64) * len(ub) + b)
    land = inland(np.asarray(ua)[first // len(ub)], np.asarray(ub)[first % len(ub)])
    if not land.any():
        return []
    idx = np.flatnonzero(ok)[land[codes]]
    return [
        Hit(
            idx,
            [f"{a:g}, {b:g}" for a, b in zip(ctx.lat[idx], ctx.lon[idx], strict=True)],
            f"on land, more than {LAND_PROBE_KM:g} km from any coast: check the signs (west and "
            "south are negative), the format (degrees.minutes?) and whether latitude and longitude "
            "are swapped; for a lake or river say so with --set freshwater=yes",
        )
    ]


# --- suspicious ------------------------------------------------------------------------------------


def _dates(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    ok = ctx.valid_time()
    days = np.full(ctx.n, np.iinfo(np.int64).min, dtype=np.int64)
    days[ok] = ctx.time_ns[ok] // (86_400 * 10**9)
    return ok, days


def _day(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def before_instrument(ctx: Context) -> list[Hit]:
    """A date before the instrument model existed: usually an unset clock or a wrong format."""
    ok, days = _dates(ctx)
    hits = []
    for inst, first in FIRST_USE.items():
        bad = ok & (ctx.instrument == inst) & (days < _day(first))
        if bad.any():
            hits.append(
                _on_days(
                    bad,
                    days,
                    f"before the first {inst} took images ({first.year}): an unset instrument clock "
                    "or a wrong date format?",
                )
            )
    return hits


def _on_days(bad: np.ndarray, days: np.ndarray, message: str) -> Hit:
    """The items ``bad`` flags, each shown by its date."""
    idx = np.flatnonzero(bad)
    return Hit(idx, [_iso_day(days[i]) for i in idx], message)


def default_date(ctx: Context) -> list[Hit]:
    """A date equal to one clocks fall back to when unset."""
    ok, days = _dates(ctx)
    bad = ok & np.isin(days, [_day(d) for d in DEFAULT_DATES])
    lo, hi = PLANKTOSCOPE_CLOCK_START
    ps = ok & (ctx.instrument == "planktoscope") & (days >= _day(lo)) & (days <= _day(hi))
    hits = []
    if bad.any():
        hits.append(
            _on_days(
                bad,
                days,
                "the date an unset clock falls back to (1970-01-01, 1980-01-06, 2000-01-01, "
                "1904-01-01): check the instrument clock",
            )
        )
    if ps.any():
        hits.append(
            _on_days(
                ps,
                days,
                "a PlanktoScope clock without network time starts at 2019-02-14: the date the "
                "operator entered (or the real one) is needed",
            )
        )
    return hits


def unusual_pixel_size(ctx: Context) -> list[Hit]:
    return _outside(
        ctx, ctx.pixel_size, USUAL_PIXEL_SIZE, "µm", "the unit (µm per pixel, not pixels per µm?)"
    )


def unusual_volume(ctx: Context) -> list[Hit]:
    return _outside(ctx, ctx.volume, USUAL_VOLUME_L, "L", "the unit (mL given as L?)")


def _outside(ctx: Context, values: np.ndarray, table: dict, unit: str, hint: str) -> list[Hit]:
    hits = []
    for inst, (lo, hi) in table.items():
        bad = (ctx.instrument == inst) & np.isfinite(values) & ((values < lo) | (values > hi))
        if bad.any():
            idx = np.flatnonzero(bad)
            hits.append(
                Hit(
                    idx,
                    [f"{values[i]:g}" for i in idx],
                    f"outside the {inst}'s usual {lo:g} to {hi:g} {unit}: check {hint}",
                )
            )
    return hits


MAX_SPEED_KNOTS = 40.0
MIN_JUMP_KM = 2.0  # closer positions are GPS noise or drift, whatever the time between them


def ship_speed(ctx: Context) -> list[Hit]:
    """Consecutive samples (by time, per source) further apart than a ship sails at 40 knots."""
    ok = ctx.valid_time() & ctx.valid_position()
    if ctx.held is not None:
        ok &= ~ctx.held
    if ok.sum() < 2:
        return []
    # One point per sample; at one instant the position most images have comes first, so the
    # odd one out is what gets flagged.  Counted on arrays of numbers: a data frame grouped by the
    # four columns held ~300 bytes an image at the peak of checking a million.
    cols = [ctx.scan[ok], ctx.time_ns[ok], ctx.lat[ok], ctx.lon[ok]]
    sample = _sample_codes(cols)  # numbered as first seen: sample j first appears before j + 1
    size = np.bincount(sample)
    pts = np.empty(len(size), dtype=np.int64)  # the first image of each sample, in item order
    pts[sample[::-1]] = np.arange(len(sample) - 1, -1, -1)
    sc, t, lat, lon = (c[pts] for c in cols)
    order = np.lexsort((-size, t, sc))  # stable, as pandas' sort by scan, time, size
    sc, t, lat, lon = sc[order], t[order], lat[order], lon[order]
    del cols, pts, size
    leg_fast = _too_fast(lat[:-1], lon[:-1], t[:-1], lat[1:], lon[1:], t[1:])[0]
    if not leg_fast.any():
        return []  # the common case, decided without a loop
    # the items of each sample, ascending: those that share its (scan, t, lat, lon)
    by_group = np.argsort(sample, kind="stable")
    group_end = np.cumsum(np.bincount(sample))
    pts_group = order  # the point at j is sample order[j] (samples are numbered as first seen)
    items = np.flatnonzero(ok)
    hits = []
    good = 0  # each sample is compared with the last one that was not itself a jump
    for j in range(1, len(sc)):
        if sc[j] != sc[good] or (good == j - 1 and not leg_fast[j - 1]):
            good = j  # a new source, or a sound step from a sound sample (known already)
            continue
        fast, km, knots = _too_fast(lat[good], lon[good], t[good], lat[j], lon[j], t[j])
        if not fast:
            good = j
            continue
        g = pts_group[j]
        idx = items[by_group[(group_end[g - 1] if g else 0) : group_end[g]]]
        speed = "at the same time" if t[j] <= t[good] else f"{float(knots):,.0f} knots"
        hits.append(
            Hit(
                idx,
                [f"{lat[j]:g}, {lon[j]:g}"] * len(idx),
                f"{float(km):,.0f} km from the sample before ({lat[good]:g}, {lon[good]:g} at "
                f"{_iso_time(int(t[good]))}): {speed}, faster than a ship sails "
                f"({MAX_SPEED_KNOTS:g} knots); a sign or degrees.minutes error?",
            )
        )
    return hits


def _sample_codes(cols: list[np.ndarray]) -> np.ndarray:
    """One number per distinct combination of the columns' values, numbered as first seen (as
    pandas groups and drops duplicates: each column factorised, then the pairs)."""
    codes = np.zeros(len(cols[0]), dtype=np.int64)
    for c in cols:
        k, uniques = pd.factorize(c)
        codes, _ = pd.factorize(codes * len(uniques) + k)
    return codes


def _too_fast(lat1, lon1, t1, lat2, lon2, t2):
    """Whether going from point 1 to point 2 needs more than MAX_SPEED_KNOTS (and the distance
    and speed), elementwise."""
    km = _haversine_km(lat1, lon1, lat2, lon2)
    hours = (np.asarray(t2) - np.asarray(t1)) / 3.6e12
    with np.errstate(divide="ignore", invalid="ignore"):
        knots = np.where(hours > 0, km / 1.852 / np.where(hours > 0, hours, 1.0), np.inf)
    return (km > MIN_JUMP_KM) & (knots > MAX_SPEED_KNOTS), km, knots


def _haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


# Instruments that time every image on its own; UVP, ZooScan and PlanktoScope give a sample's
# time to all of its images, and the IFCB reader gives each ROI its bin's time.
ONE_TIME_PER_IMAGE = ("flowcam", "microscopy")
MAX_SAME_TIME = 10


def same_timestamp(ctx: Context) -> list[Hit]:
    """Many images at one instant from an instrument that times each image: the time probably
    comes from somewhere else (a file copy date, a sample sheet)."""
    ok = ctx.valid_time() & np.isin(ctx.instrument, ONE_TIME_PER_IMAGE)
    if ok.sum() <= MAX_SAME_TIME:
        return []
    s = pd.Series(ctx.time_ns[ok], index=np.flatnonzero(ok))
    counts = s.map(s.value_counts())
    bad = counts > MAX_SAME_TIME
    if not bad.any():
        return []
    idx = counts.index[bad.to_numpy()].to_numpy()
    return [
        Hit(
            idx,
            [_iso_time(int(ctx.time_ns[i])) for i in idx],
            f"more than {MAX_SAME_TIME} images share this exact time, but the instrument times "
            "each image: is the time taken from a file copy or a sample sheet?",
        )
    ]


# A date (and time) in an image's file name, as instruments and cameras write them:
# D20230810T113059_IFCB134 (IFCB), flowcam_..._20171118_..., IMG_20210601_101500.jpg
# (RE2 syntax: Arrow runs it over every name at once.)
_NAME_TIME = (
    r"(?:^|\D)(?P<y>(?:19|20)\d{2})(?P<mo>0[1-9]|1[0-2])(?P<d>0[1-9]|[12]\d|3[01])"
    r"(?:[T_-]?(?P<h>[01]\d|2[0-3])(?P<mi>[0-5]\d)(?P<s>[0-5]\d))?(?:\D|$)"
)
MAX_NAME_TIME_DIFFERENCE_H = 36.0  # a time zone, a sample imaged the next day


def sources_disagree(ctx: Context) -> list[Hit]:
    """The table's date against the date (and time) in the image's own file name: more than a day
    and a half apart, one of them is wrong (an unset clock, a table row joined to the wrong
    image)."""
    ok = ctx.valid_time()
    if ctx.names is None or not ok.any():
        return []
    ns, has_time = times_in_names(ctx.names())
    t = ctx.time_ns.copy()
    day = 86_400 * 10**9
    t[~has_time] = t[~has_time] // day * day  # a date alone: compare with the table's day
    found = ok & (ns != _NAT)
    diff_h = np.abs(t - ns) / 3.6e12
    bad = found & (diff_h > MAX_NAME_TIME_DIFFERENCE_H)
    if not bad.any():
        return []
    idx = np.flatnonzero(bad)

    def said(i: int) -> str:
        text = _iso_time(int(ns[i]))
        return text if has_time[i] else text[:10]

    return [
        Hit(
            idx,
            [f"{_iso_time(int(ctx.time_ns[i]))} (file name: {said(i)})" for i in idx],
            f"the table's time and the date in the image's file name are more than "
            f"{MAX_NAME_TIME_DIFFERENCE_H:g} hours apart: is the instrument clock, or the row "
            "joined to this image, right?",
        )
    ]


def times_in_names(names) -> tuple[np.ndarray, np.ndarray]:
    """The first date(-time) in each file name: (ns since the epoch, NaT as int64 min where
    none; whether a time of day was there)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(names, pa.Array | pa.ChunkedArray):
        arr = names.cast(pa.string())  # the item names are large_string or dictionary
    else:
        arr = pa.array(names, pa.string())
    # the file's own name, not the folders or the zip it sits in (an export's date is not the
    # image's)
    arr = pc.replace_substring_regex(arr, r"^.*[/\\›]", "")
    m = pc.extract_regex(arr, _NAME_TIME)
    has_time = pc.fill_null(pc.greater(pc.utf8_length(m.field("h")), 0), False)

    def part(k: str):
        return pc.if_else(has_time, m.field(k), "00")

    ymd = [m.field("y"), m.field("mo"), m.field("d")]
    iso = pc.binary_join_element_wise(
        *ymd[:1], "-", ymd[1], "-", ymd[2], "T", part("h"), ":", part("mi"), ":", part("s"), ""
    )
    ts = pc.strptime(iso, format="%Y-%m-%dT%H:%M:%S", unit="ns", error_is_null=True)
    # strptime rolls 31 February over into March: keep only dates that read back the same
    same = pc.equal(pc.strftime(ts, format="%Y%m%d"), pc.binary_join_element_wise(*ymd, ""))
    ts = pc.if_else(pc.fill_null(same, False), ts, pa.scalar(None, ts.type))
    ns = ts.cast(pa.int64()).fill_null(_NAT).to_numpy(zero_copy_only=False).astype(np.int64)
    return ns, has_time.to_numpy(zero_copy_only=False).astype(bool)


_NAT = np.iinfo(np.int64).min


def _iso_day(d: int) -> str:
    return str(np.datetime64(int(d), "D"))


def _iso_time(ns: int) -> str:
    return str(np.datetime64(ns, "ns").astype("M8[s]")).replace("T", " ")


# fmt: off
RULES: tuple[Rule, ...] = (
    Rule("swapped_position", IMPOSSIBLE, "latitude", "latitude and longitude swapped", swapped_position),
    Rule("factory_default", IMPOSSIBLE, "latitude", "instrument factory default", factory_default),
    Rule("on_land", IMPOSSIBLE, "latitude", "position on land", on_land),
    Rule("before_instrument", SUSPICIOUS, "datetime", "before the instrument existed", before_instrument),
    Rule("default_date", SUSPICIOUS, "datetime", "an unset clock's date", default_date),
    Rule("unusual_pixel_size", SUSPICIOUS, "pixel_size", "unusual for the instrument", unusual_pixel_size),
    Rule("unusual_volume", SUSPICIOUS, "volume_sampled", "unusual for the instrument", unusual_volume),
    Rule("ship_speed", SUSPICIOUS, "latitude", "faster than a ship", ship_speed),
    Rule("same_timestamp", SUSPICIOUS, "datetime", "many images at one instant", same_timestamp),
    Rule("sources_disagree", SUSPICIOUS, "datetime", "the file name says another date", sources_disagree),
)
# fmt: on
BY_KIND = {r.kind: r for r in RULES}
LEVEL = {r.kind: r.level for r in RULES}
SUSPICIOUS_KINDS = tuple(r.kind for r in RULES if r.level == SUSPICIOUS)
IMPOSSIBLE_KINDS = tuple(r.kind for r in RULES if r.level == IMPOSSIBLE)


# --- accepting ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Accept:
    """``KIND`` or ``KIND:FIELD`` from ``--accept``: suspicious problems a person confirmed."""

    kind: str
    field: str | None = None

    def covers(self, kind: str, field_name: str | None) -> bool:
        return self.kind == kind and (self.field is None or self.field == field_name)

    def __str__(self) -> str:
        return f"{self.kind}:{self.field}" if self.field else self.kind


def parse_accept(specs: Iterable[str]) -> list[Accept]:
    """``--accept`` values as Accepts; an impossible or unknown kind is a UserError."""
    out: list[Accept] = []
    for spec in specs or ():
        kind, _, fld = str(spec).strip().partition(":")
        kind, fld = kind.strip(), fld.strip() or None
        if kind in IMPOSSIBLE_KINDS:
            raise UserError(
                f"--accept {spec}: {kind} ({BY_KIND[kind].words}) cannot be accepted, the value "
                "cannot be right: fix it in the mapping (--map) or give the right value (--set)"
            )
        if kind not in SUSPICIOUS_KINDS:
            raise UserError(
                f"--accept {spec}: unknown kind {kind!r}; what can be accepted: "
                + ", ".join(SUSPICIOUS_KINDS)
            )
        a = Accept(kind, fld)
        if a not in out:
            out.append(a)
    return out


@dataclass
class Accepted:
    """What was confirmed and how many images it made ready: written to image-set.toml."""

    kind: str
    field: str
    images: int
    why: str


@dataclass
class Outcome:
    problems: list[Problem] = field(default_factory=list)
    not_ready: np.ndarray | None = None  # bool per item
    # field -> the impossible problem kind per item (None where the field was not flagged)
    invalid: dict[str, np.ndarray] = field(default_factory=dict)
    accepted: list[Accepted] = field(default_factory=list)


def run_rules(
    ctx: Context,
    where: Callable[[int], tuple[str | None, int | None]],
    accepts: Sequence[Accept] = (),
    rules: Sequence[Rule] = RULES,
) -> Outcome:
    """Every rule in order; an item flagged by an earlier rule on the same field is not flagged
    again.  ``where(i)`` gives item ``i``'s file and row for the problem."""
    out = Outcome(not_ready=np.zeros(ctx.n, dtype=bool))
    ctx.held = np.zeros(ctx.n, dtype=bool)
    flagged: dict[str, np.ndarray] = {}
    for rule in rules:
        taken = flagged.setdefault(rule.field, np.zeros(ctx.n, dtype=bool))
        accepted = rule.level == SUSPICIOUS and any(
            a.covers(rule.kind, rule.field) for a in accepts
        )
        count = 0
        severity = "warning" if accepted else "error"
        for hit in rule.check(ctx):
            items = np.asarray(hit.items, dtype=np.int64)
            if len(items) != len(hit.values):
                raise ValueError(f"{rule.kind}: {len(items)} items but {len(hit.values)} values")
            # each item once: its first place in the hit, unless an earlier rule flagged it
            keep = np.zeros(len(items), dtype=bool)
            keep[np.unique(items, return_index=True)[1]] = True
            keep &= ~taken[items]
            sel = items[keep]
            if not len(sel):
                continue
            taken[sel] = True
            count += len(sel)
            msg = hit.message + (f" (accepted with --accept {rule.kind})" if accepted else "")
            values = [v for v, k in zip(hit.values, keep.tolist(), strict=True) if k]
            kind, name, add = rule.kind, rule.field, out.problems.append
            for i, v in zip(sel.tolist(), values, strict=True):
                file, row = where(i)
                add(Problem(kind, msg, file, row, name, v, severity))  # field order: see Problem
            if rule.level == IMPOSSIBLE:
                ctx.held[sel] = True
            if not accepted:
                out.not_ready[sel] = True
            if rule.level == IMPOSSIBLE:  # a suspicious value may be right: the field keeps it
                kinds = out.invalid.setdefault(rule.field, np.full(ctx.n, None, dtype=object))
                kinds[sel] = rule.kind
        if accepted and count:
            out.accepted.append(Accepted(rule.kind, rule.field, count, rule.words))
    return out


# --- from a mapping's result ------------------------------------------------------------------------
def is_freshwater(mapping) -> bool:
    """The dataset says it is from a lake or river: ``freshwater`` set to yes, or a water surface
    altitude given (only lakes have one)."""
    from .parsers import ParseError, parse_bool

    spec = mapping.get("freshwater")
    if spec is not None and spec.constant is not None:
        try:
            if parse_bool(spec.constant):
                return True
        except ParseError:
            pass
    surf = mapping.get("surface_altitude")
    return surf is not None and surf.constant is not None and surf.constant.strip() != ""


def context_of(
    scans: Sequence[Scan],
    scan_of_item: np.ndarray,
    converted: pd.DataFrame,
    mapping,
    names: Callable[[], Sequence[str]] | None = None,
) -> Context:
    instruments = np.array([instrument_of(s) for s in scans] or [""], dtype=object)
    n = len(converted)

    def num(col: str) -> np.ndarray:
        if col not in converted.columns:
            return np.full(n, np.nan)
        col_ = converted[col]
        if col_.dtype == np.float64:  # numbers already, NaN where missing: a read-only view, no
            view = col_.to_numpy().view()  # copy (8 bytes an image each, at the check's peak)
            view.flags.writeable = False
            return view
        return pd.to_numeric(col_, errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    t = converted["image-datetime"] if "image-datetime" in converted.columns else None
    if t is not None and isinstance(t.dtype, pd.DatetimeTZDtype) and t.dtype.unit == "ns":
        time_ns = t.array.asi8.view()  # UTC ns as stored (NaT: int64 min): no copy; read-only
        time_ns.flags.writeable = False
    elif t is not None and isinstance(t.dtype, pd.DatetimeTZDtype):
        time_ns = t.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("M8[ns]").view(np.int64)
    else:
        time_ns = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    scan_idx = np.asarray(scan_of_item, dtype=np.int64)
    return Context(
        instrument=instruments[scan_idx] if n else np.array([], dtype=object),
        scan=scan_idx,
        time_ns=time_ns,
        lat=num("image-latitude"),
        lon=num("image-longitude"),
        pixel_size=num("image-pixel-size-micrometers"),
        volume=num("image-volume-sampled-liters"),
        freshwater=is_freshwater(mapping),
        names=names,
    )
