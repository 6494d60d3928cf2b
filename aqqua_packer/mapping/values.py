"""The text each item has for one input field, and the engine that converts it.

Speed comes from parsing each *distinct* value (or tuple of values) once: a 100,000-row table
with a few thousand distinct dates parses a few thousand strings, so the GUI can re-apply the
mapping on every edit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from ..problems import Problem
from ..sources.base import ROW_COL, TABLE_COL, Scan
from . import parsers
from .items import Items, filled
from .mapped import INVALID, MISSING, MISSING_KINDS
from .model import FieldSpec

NAT = np.iinfo(np.int64).min
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def first_table(scan: Scan) -> str:
    t = scan.tables
    return t[0] if t else str(scan.root)


def provenance(scan: Scan) -> tuple[list, list]:
    rows = scan.rows
    n = len(rows)
    tab = (
        text_objects(rows[TABLE_COL]).tolist()
        if TABLE_COL in rows.columns
        else [str(scan.root)] * n
    )
    rn = (
        [int(x) for x in rows[ROW_COL].tolist()]
        if ROW_COL in rows.columns
        else list(range(2, n + 2))
    )
    return tab, rn


# --- one input field, as text per item --------------------------------------------------------------
class PerItem:
    """A value per item, worked out when a problem asks for it: the file and row number of every
    image are not built up front (100,000 images would hold 100,000 row numbers for a few
    problems)."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[int], object]):
        self.fn = fn

    def __getitem__(self, i: int) -> object:
        return self.fn(int(i))


NOWHERE = PerItem(lambda i: None)


@dataclass
class Source:
    """The text each item has for one input field, and where a problem with it is to be found."""

    name: str
    spec: FieldSpec
    raw: np.ndarray  # object per item: text, or None (no row / no column)
    file: PerItem  # per item: the table (or the image) a problem is to be found in
    row: PerItem  # per item: the row number, or None
    per_item: bool  # False for constants: a problem is reported once, not per image
    absent_kind: str = "missing"  # the kind of a None: "image_without_row" or "missing_column"
    absent: np.ndarray | None = None  # bool per item: None because there is no row / column

    def problem(self, i: int, kind: str, message: str, **kw) -> Problem:
        """A problem with item ``i``'s value, where it is to be found (``kw``: field, value and
        severity, when not this field, its text and an error)."""
        kw.setdefault("field", self.name)
        kw.setdefault("value", self.raw[i])
        return Problem(kind, message, file=self.file[i], row=self.row[i], **kw)


def source_of(
    name: str,
    spec: FieldSpec,
    scan: Scan,
    ctx: ScanContext,
    problems: list[Problem],
) -> Source:
    m = len(ctx.items)
    if spec.constant is not None and spec.column is None and not spec.pattern:
        return Source(name, spec, filled(m, spec.constant), NOWHERE, NOWHERE, False)
    if spec.column is not None:
        if spec.column not in scan.rows.columns:
            problems.append(
                Problem(
                    "missing_column",
                    f"the column {spec.column!r} mapped to {name} is not in the table"
                    + (
                        f" (columns: {', '.join(scan.columns[:12])}{', ...' if len(scan.columns) > 12 else ''})"
                        if scan.columns
                        else ""
                    ),
                    file=first_table(scan),
                    field=name,
                    value=spec.column,
                )
            )
            return Source(
                name,
                spec,
                np.full(m, None, dtype=object),
                ctx.image_name,
                NOWHERE,
                True,
                "missing_column",
                np.ones(m, dtype=bool),
            )
        col = ctx.column(spec.column)
        raw = np.full(m, None, dtype=object)
        has = ctx.has_row
        raw[has] = col[ctx.pos[has]]
        return Source(name, spec, raw, ctx.file, ctx.rownum, True, "image_without_row", ~has)
    # a pattern on the file name
    return Source(name, spec, ctx.names().copy(), ctx.image_name, NOWHERE, True)


@dataclass
class ScanContext:
    scan: Scan
    items: Items
    pos: np.ndarray  # row position per item, -1 for none
    has_row: np.ndarray
    _cols: dict[str, np.ndarray] = field(default_factory=dict)
    _names: np.ndarray | None = None
    _prov: tuple[list, list] | None = None

    @classmethod
    def of(cls, scan: Scan, items: Items) -> ScanContext:
        return cls(scan, items, items.row, items.row >= 0)

    def names(self) -> np.ndarray:
        """Every item's image name, as an object array (for patterns on the file name)."""
        if self._names is None:
            items = self.items
            self._names = np.array([items.name(i) for i in range(len(items))] or [], dtype=object)
        return self._names

    @property
    def image_name(self) -> PerItem:
        return PerItem(self.items.name)

    def _prov_lists(self) -> tuple[list, list]:
        if self._prov is None:
            self._prov = provenance(self.scan)
        return self._prov

    @property
    def file(self) -> PerItem:
        """Where item i's row is (its table), or the image itself when it has no row."""
        if self.scan.rows.empty:
            return self.image_name
        return PerItem(
            lambda i: self._prov_lists()[0][self.pos[i]] if self.has_row[i] else self.items.name(i)
        )

    @property
    def rownum(self) -> PerItem:
        if self.scan.rows.empty:
            return NOWHERE
        return PerItem(lambda i: self._prov_lists()[1][self.pos[i]] if self.has_row[i] else None)

    def column(self, name: str) -> np.ndarray:
        if name not in self._cols:
            self._cols[name] = text_objects(self.scan.rows[name])
        return self._cols[name]


def text_objects(col: pd.Series) -> np.ndarray:
    """A column as an object array in which equal values are one Python string: a column of
    100,000 rows and 30 distinct dates costs 30 strings and 100,000 pointers, not 100,000 strings
    (text columns are stored by Arrow; ``to_numpy(dtype=object)`` would make one string each)."""
    if col.hasnans:
        return col.to_numpy(dtype=object)
    codes, uniques = pd.factorize(col)
    return np.asarray(uniques, dtype=object)[codes]


# --- parsing distinct values ------------------------------------------------------------------------
def factorize(sources: Sequence[Source]) -> tuple[np.ndarray, list]:
    """Codes per item and the distinct values (tuples of values, for several sources)."""
    codes_all, uniq_all = [], []
    for s in sources:
        c, u = pd.factorize(s.raw)
        c = np.where(c < 0, len(u), c)
        codes_all.append(c)
        uniq_all.append([*u.tolist(), None])
    if len(sources) == 1:
        return codes_all[0], uniq_all[0]  # plain values, not 1-tuples: the common case, kept lean
    key = np.zeros(len(sources[0].raw), dtype=np.int64)
    for c, u in zip(codes_all, uniq_all, strict=True):
        key = key * len(u) + c
    codes, ukeys = pd.factorize(key)
    tuples = []
    for k in ukeys.tolist():
        parts = []
        for u in reversed(uniq_all):
            k, r = divmod(k, len(u))
            parts.append(u[r])
        tuples.append(tuple(reversed(parts)))
    return codes, tuples


@dataclass
class Result:
    values: np.ndarray  # float64 (nan) / int64 ns (NAT) / object (None)
    status: np.ndarray
    kind: np.ndarray
    problems: list[Problem]


def extract(spec: FieldSpec) -> Callable[[str | None], str | None]:
    """The pattern's match in the value (group ``value``, else the last group), or the value."""
    if not spec.pattern:
        return lambda v: v
    rx = re.compile(spec.pattern)

    def ex(v: str | None) -> str | None:
        if v is None:
            return None
        m = rx.search(v)
        if not m:
            raise parsers.ParseError("the pattern does not match")
        if "value" in rx.groupindex:
            return m.group("value")
        return m.group(m.lastindex or 0)

    return ex


def convert_values(
    out_name: str,
    sources: list[Source],
    fn: Callable[..., object],
    dtype: str,
    *,
    severity: str = "error",
    report_missing: bool = True,
    fast: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
) -> Result:
    """Parse every distinct combination of the sources' values once; spread results to items.

    ``fast`` (one source, no pattern) converts the plain distinct values all at once and says
    which it accepted; the parser ``fn`` handles the rest and explains what it refuses.
    """
    m = len(sources[0].raw)
    codes, tuples = factorize(sources)
    extracts = [extract(s.spec) for s in sources]
    nu = len(tuples)
    uvals = empty_values(nu, dtype)
    done = np.zeros(nu, dtype=bool)
    if fast is not None and len(sources) == 1 and not sources[0].spec.pattern and nu > 64:
        fv, done = fast(np.array(tuples, dtype=object))
        uvals[done] = fv[done]
    ukind = np.full(nu, None, dtype=object)
    umsg: list[str | None] = [None] * nu
    ufield: list[int] = [0] * nu
    single = len(sources) == 1
    ex0 = extracts[0]
    for j, tup in enumerate(tuples):
        if done[j]:
            continue
        k = 0
        try:
            if single:
                v = fn(ex0(tup))
            else:
                args = []
                for ex, v in zip(extracts, tup, strict=True):
                    args.append(ex(v))
                    k += 1
                k = 0
                v = fn(*args)
            if dtype == "ns":
                d = v - EPOCH
                uvals[j] = (d.days * 86_400 + d.seconds) * 1_000_000_000 + d.microseconds * 1000
            else:
                uvals[j] = v
        except parsers.ParseError as exc:
            ukind[j] = exc.kind
            umsg[j] = str(exc)
            if exc.field is not None:
                k = next((i for i, s in enumerate(sources) if s.name == exc.field), k)
            ufield[j] = k
    values = uvals[codes]
    kind = ukind[codes]
    status = np.zeros(m, dtype=np.int8)
    bad = kind != None  # noqa: E711 (element-wise)
    if bad.any():
        is_missing = np.isin(kind, list(MISSING_KINDS))
        status[bad & is_missing] = MISSING
        status[bad & ~is_missing] = INVALID
    problems: list[Problem] = []
    if bad.any():
        ufield_a = np.array(ufield, dtype=np.int64)
        at = ufield_a[codes]
        # A value that is absent because the image has no row, or the column is not in the table,
        # is reported once elsewhere; count it under that reason instead of one problem per image.
        for si, s in enumerate(sources):
            if s.absent is not None:
                sel = bad & (at == si) & s.absent & (kind == "missing")
                kind[sel] = s.absent_kind
        once: set[tuple[int, int]] = set()
        for i in np.flatnonzero(bad).tolist():
            k = kind[i]
            if k in ("image_without_row", "missing_column") or (
                k in ("missing", "sentinel") and not report_missing
            ):
                continue
            s = sources[at[i]]
            msg = umsg[codes[i]] or ""
            if not s.per_item:
                key = (codes[i], int(at[i]))
                if key in once:
                    continue
                once.add(key)
                problems.append(
                    Problem(
                        k,
                        f"{msg} (the value given for every image)",
                        field=s.name,
                        value=s.spec.constant,
                        severity=severity,
                    )
                )
                continue
            problems.append(s.problem(i, k, msg, severity=severity))
    return Result(values, status, kind, problems)


def text_values(s: Source) -> Result:
    """Labels and identifiers: the text as written, trimmed; empty or a placeholder is missing.
    (Done in one pass, not per distinct value: identifiers are all distinct.)"""
    pick = extract(s.spec)
    m = len(s.raw)
    vals = np.full(m, None, dtype=object)
    status = np.zeros(m, dtype=np.int8)
    kind = np.full(m, None, dtype=object)
    sentinels = parsers.TEXT_SENTINELS
    for i, v in enumerate(s.raw.tolist()):
        try:
            t = pick(v)
        except parsers.ParseError:
            t = None
        t = t.strip() if isinstance(t, str) else ""
        if not t or t.lower() in sentinels:
            status[i] = MISSING
            kind[i] = "missing" if not t else "sentinel"
        else:
            vals[i] = t
    return Result(vals, status, kind, [])


def empty_values(m: int, dtype: str) -> np.ndarray:
    """``m`` values that are none: NaN ("float"), NAT ("ns") or None (any other)."""
    if dtype == "float":
        return np.full(m, np.nan)
    if dtype == "ns":
        return np.full(m, NAT, dtype=np.int64)
    return np.full(m, None, dtype=object)


def not_mapped(m: int, dtype: str) -> Result:
    return Result(
        empty_values(m, dtype), np.full(m, MISSING, dtype=np.int8), filled(m, "not_mapped"), []
    )


def all_invalid(res: Result, kind: str) -> Result:
    m = len(res.status)
    dt = res.values.dtype
    dtype = "float" if dt == np.float64 else ("ns" if dt == np.int64 else "obj")
    return Result(
        empty_values(m, dtype), np.full(m, INVALID, dtype=np.int8), filled(m, kind), res.problems
    )
