"""Apply a mapping to scanned sources: join images to rows, convert every field, list problems.

``apply_mapping(scans, mapping, task) -> Mapped`` is the contract the report, the package writer,
the CLI and the GUI rely on.  It is a loop over data:

- ``fields.FIELDS`` says, for each field, which converter reads it, what it may be derived from
  and whether it is required;
- ``convert.CONVERTERS`` turns a mapped field's text into values (``values.convert_values``
  parses each distinct value once, so the GUI can re-apply the mapping on every edit);
- ``steps.STEPS`` are the cross-field rules (date + time, 0,0 positions, depth ranges,
  altitude from depth, repeated object ids), each run right after the field it follows.

Images are joined to rows in ``join.py``; ``items.py`` and ``mapped.py`` hold what comes out.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from .. import fields as _fields
from ..fields import BY_NAME, OPTIONAL_FIELDS, REQUIRED_COLUMNS, REQUIRED_FIELDS, TEXT_FIELDS
from ..problems import Problem
from ..progress import Task, null_task
from ..sources.base import Scan
from ..sources.tables import text_series
from . import plausibility
from .convert import CONVERTERS, dtype_of
from .items import Item, Items, filled
from .join import join_scan, row_problems
from .mapped import INVALID, MISSING, MISSING_KINDS, OK, FieldState, Mapped
from .model import Mapping
from .state import ScanState, Settings, read_settings
from .steps import STEPS, Step
from .suggest import suggest_mapping
from .values import NAT, Result, not_mapped, provenance, text_objects

__all__ = [
    "INVALID",
    "MISSING",
    "MISSING_KINDS",
    "OK",
    "OPTIONAL_FIELDS",
    "REQUIRED_FIELDS",
    "STEPS",
    "TEXT_FIELDS",
    "FieldState",
    "Item",
    "Items",
    "Mapped",
    "Step",
    "apply_mapping",
    "effective_mapping",
    "filled",
    "scan_mappings",
    "text_objects",
]

# The steps that follow each field, in their order.
_STEPS_AFTER: dict[str, list[Step]] = defaultdict(list)
for _s in STEPS:
    _STEPS_AFTER[_s.after].append(_s)


# --- mapping ----------------------------------------------------------------------------------------
def effective_mapping(scans: list[Scan], given: Mapping) -> Mapping:
    """Suggestions (presets, then column names) merged with what the user gave; first scan first."""
    return _first_wins(scan_mappings(scans, given), given)


def _first_wins(per_scan: list[Mapping], given: Mapping) -> Mapping:
    out = Mapping(unmapped=set(given.unmapped), accepted=list(given.accepted))
    for m in per_scan:
        for name, spec in m.fields.items():
            out.fields.setdefault(name, spec)
        for name, spec in m.doubted.items():
            out.doubted.setdefault(name, spec)
    if not per_scan:
        out = Mapping().merged(given)
    out.doubted = {k: v for k, v in out.doubted.items() if k not in out.fields}
    return out


def scan_mappings(scans: list[Scan], given: Mapping) -> list[Mapping]:
    return [suggest_mapping(s).merged(given) for s in scans]


# --- one scan ----------------------------------------------------------------------------------------
def _map_scan(
    scan: Scan,
    items: Items,
    mapping: Mapping,
    settings: Settings,
    now: datetime,
    problems: list[Problem],
    task: Task | None = None,
) -> dict[str, Result]:
    """Every field of one scan: each mapped field converted, each step run after the field it
    follows, each required field that is still missing marked as not mapped."""
    st = ScanState(scan, items, mapping, settings, now, problems, task)
    for f in _fields.FIELDS:  # looked up at each call: the table is the one place a field is said
        if f.convert is not None:
            s = st.src(f.name)
            if s is not None:
                st.out[f.name] = CONVERTERS[f.convert](f, s, st)
        for step in _STEPS_AFTER.get(f.name, ()):
            step.run(st)
        if f.required and f.name not in st.out:
            st.out[f.name] = not_mapped(st.m, dtype_of(f))
    for r in st.out.values():
        problems.extend(r.problems)
    return st.out


# --- the whole mapping -------------------------------------------------------------------------------
def apply_mapping(scans: list[Scan], given: Mapping, task: Task | None = None) -> Mapped:
    task = task or null_task()
    per_scan_mapping = scan_mappings(scans, given)
    mapping = _first_wins(per_scan_mapping, given)
    problems: list[Problem] = []
    per_scan: list[Items] = []
    used_rows: dict[int, tuple[Scan, np.ndarray]] = {}  # per table: which rows name an image
    for i, s in enumerate(scans):
        answered = _answered_questions(per_scan_mapping[i])
        problems.extend(p for p in s.problems if p.kind not in answered)
        for a in s.set_aside:
            kept = f"; {a.kept} is packed instead" if a.kept else ""
            problems.append(
                Problem("set_aside", f"set aside: {a.reason}{kept}", file=a.path, severity="info")
            )
        used = used_rows.setdefault(id(s.rows), (s, np.zeros(len(s.rows), dtype=bool)))[1]
        per_scan.append(join_scan(scans, i, per_scan_mapping[i].get("image"), problems, used))
    items = Items.concat(scans, per_scan)
    n = len(items)
    task.start("map", n, message="Checking metadata")
    settings = read_settings(mapping, problems)
    now = datetime.now(UTC)
    table = _fields.FIELDS
    required = [f.name for f in table if f.required]
    names = required + [f.name for f in table if f.column and not f.required]
    chunks: dict[str, list[Result]] = {k: [] for k in names}
    present: set[str] = set(required)
    field_problems: list[Problem] = []
    for si, (scan, its) in enumerate(zip(scans, per_scan, strict=True)):
        task.check()
        res = _map_scan(scan, its, per_scan_mapping[si], settings, now, field_problems, task)
        present |= set(res)
        m = len(its)
        for k in names:
            if k in res:
                chunks[k].append(res[k])
            else:
                chunks[k].append(not_mapped(m, dtype_of(BY_NAME[k])))
        task.advance(m)
    # The fields that nothing is mapped to, once each (not once per image).
    for name in required:
        if all(bool((c.kind == "not_mapped").all()) for c in chunks[name]) and n:
            alt = f" (or {BY_NAME[name].alternative})" if BY_NAME[name].alternative else ""
            offer = _offer(scans, name)
            problems.append(
                Problem(
                    "not_mapped",
                    f"nothing is mapped to {name}{alt}: choose the column that holds it, or give one value for every image"
                    + (f". The reader offers, to confirm: {offer}" if offer else ""),
                    field=name,
                )
            )
    problems.extend(field_problems)

    def cat(k: str) -> Result:
        cs = chunks[k]
        if not cs:
            return not_mapped(0, dtype_of(BY_NAME[k]))
        if len(cs) == 1:  # one part (the common case): no copy
            return Result(cs[0].values, cs[0].status, cs[0].kind, [])
        return Result(
            np.concatenate([c.values for c in cs]) if n else cs[0].values,
            np.concatenate([c.status for c in cs]),
            np.concatenate([c.kind for c in cs]),
            [],
        )

    merged = {k: cat(k) for k in names if k in present}
    chunks.clear()  # the merged arrays are what is kept
    # Arrow-backed text: no Python string per image name
    cols: dict[str, object] = {"image-filename": text_series(items.names_arrow())}
    for k, r in merged.items():  # in the order of names: required fields first
        f = BY_NAME[k]
        if dtype_of(f) == "ns":  # int64 ns since 1970, NAT where there is none
            dt = r.values if r.values.dtype == np.int64 else np.full(n, NAT, dtype=np.int64)
            cols[f.column] = pd.DatetimeIndex(dt.view("M8[ns]")).tz_localize("UTC")
            continue
        v = r.values
        if r.status.size:
            v = v.copy()
            bad = r.status != OK
            if v.dtype == object:
                v[bad] = None
            else:
                v[bad] = np.nan
        cols[f.column] = v
    converted = pd.DataFrame(cols)
    cols.clear()  # the frame holds copies of them (8 bytes an image a column until the end)
    for c in REQUIRED_COLUMNS[1:]:
        if c not in converted.columns:
            converted[c] = np.nan
    for k, r in merged.items():  # the frame holds the values now; the rules read longitude's own
        if k != "longitude":  # (values that are not OK included), of the rest statuses and kinds
            r.values = np.empty(0, r.values.dtype)  # (8 bytes an image a field at check's peak)
    ready = np.ones(n, dtype=bool)
    for k in required:
        ready &= merged[k].status == OK
    accepted = _plausible(scans, items, converted, mapping, merged, ready, problems)
    states = {k: FieldState(r.status, r.kind) for k, r in merged.items()}
    problems.extend(row_problems(scans, per_scan, per_scan_mapping, used_rows, ready))
    task.finish(f"{int(ready.sum())} of {n} images ready")
    return Mapped(
        scans, mapping, items, converted, ready, problems, states, per_scan_mapping, accepted
    )


def _plausible(scans, items, converted, mapping, merged, ready, problems) -> list:
    """Run the plausibility rules on the converted values: what they flag (unless accepted) is
    not ready; an impossible value also makes its field invalid for that reason."""
    accepts = plausibility.parse_accept(mapping.accepted)
    ctx = plausibility.context_of(
        scans, items.scan, converted, mapping, names=lambda: items.names_arrow()
    )
    if "latitude" in merged and "longitude" in merged:
        ctx.lat_kind = merged["latitude"].kind
        lon = merged["longitude"]
        ctx.lon_any = np.where(lon.status == OK, lon.values.astype(float), np.nan)
    prov: dict[int, tuple[list, list]] = {}

    def where(i: int) -> tuple[str | None, int | None]:
        s, r = int(items.scan[i]), int(items.row[i])
        if r < 0:
            return items.name(i), None
        tab, rn = prov.get(s) or prov.setdefault(s, provenance(scans[s]))
        return tab[r], rn[r]

    out = plausibility.run_rules(ctx, where, accepts)
    problems.extend(out.problems)
    ready &= ~out.not_ready
    for name, kinds in out.invalid.items():
        res = merged.get(name)
        if res is None:
            continue
        hit = (kinds != None) & (res.status == OK)  # noqa: E711 (elementwise)
        res.status[hit] = INVALID
        res.kind[hit] = kinds[hit]
    return out.accepted


def _offer(scans: list[Scan], name: str) -> str:
    """What a reader offers for a field but will not apply by itself (``suggested['to_confirm']``)."""
    for s in scans:
        spec = ((s.suggested or {}).get("to_confirm") or {}).get(name)
        if isinstance(spec, dict):
            return str(spec.get("reason") or spec)
    return ""


def _answered_questions(mapping: Mapping) -> set[str]:
    """A reader's question (which time zone? is 0,0 real?) is answered once the user gives it;
    whether the answer is usable is then this module's to report."""

    def given(name: str) -> bool:
        spec = mapping.get(name)
        return spec is not None and spec.origin == "given" and spec.has_source

    out = set()
    if given("timezone"):
        out.add("needs_timezone")
    if given("zero_position_confirmed") or given("latitude") or given("longitude"):
        out.add("default_position")
    return out
