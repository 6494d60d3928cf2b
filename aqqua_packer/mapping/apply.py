"""Apply a mapping to scanned sources: join images to rows, convert every field, list problems.

``apply_mapping(scans, mapping, task) -> Mapped`` is the contract the report, the package writer,
the CLI and the GUI rely on.  Parsers live in ``parsers.py``; suggestions in ``suggest.py``.

Speed comes from parsing each *distinct* value (or pair of values, for date + time) once: a
100,000-row table with a few thousand distinct dates parses a few thousand strings, so the GUI
can re-apply the mapping on every edit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..fields import BY_NAME, REQUIRED_COLUMNS
from ..problems import Problem
from ..progress import Task, null_task
from ..sources.base import ROW_COL, TABLE_COL, ImageList, ImageRef, Scan
from ..sources.tables import is_missing, name_keys, text_series
from . import bulk, parsers, plausibility
from .model import FieldSpec, Mapping
from .suggest import column_dayfirst, suggest_mapping

# Fields whose converted column must be present and valid for an image to be packed.
REQUIRED_FIELDS = ("datetime", "latitude", "longitude", "altitude", "pixel_size")
OPTIONAL_FIELDS = (
    "depth",
    "depth_min",
    "depth_max",
    "volume_sampled",
    "label",
    "sample_id",
    "station_id",
    "object_id",
)
TEXT_FIELDS = ("label", "sample_id", "station_id", "object_id")

# Per-field status of one image.
OK, MISSING, INVALID = 0, 1, 2
# Problem kinds that mean "there is no value" (the rest mean "there is a value, and it is wrong").
MISSING_KINDS = frozenset(
    {"missing", "sentinel", "not_mapped", "missing_column", "image_without_row"}
)

_NAT = np.iinfo(np.int64).min
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def filled(m: int, value: object) -> np.ndarray:
    """An object array of ``m`` references to one ``value`` (``np.full`` would make ``m`` copies of
    a string: 5.6 MB instead of 0.8 MB per 100,000 images)."""
    a = np.empty(m, dtype=object)
    a.fill(value)
    return a


@dataclass(slots=True)
class Item:
    """One image to pack: which scan it is from, where its pixels are, which row describes it."""

    scan: int  # index into Mapped.scans
    image: ImageRef
    row: int | None  # position in scans[scan].rows, or None when no row describes it


class Items(Sequence[Item]):
    """The images of a ``Mapped``, by column: the scan, the position in that scan's images, the row
    (-1: none).  ``items[i]`` makes the ``Item``; whole columns come without one (``names_arrow``,
    ``sizes``).  14 bytes an image, where ``Item`` objects cost ~100 and pin their ``ImageRef``."""

    __slots__ = ("_scans", "scan", "image", "row")

    def __init__(self, scans: Sequence[Scan], scan: np.ndarray, image: np.ndarray, row: np.ndarray):
        self._scans = scans
        self.scan = np.asarray(scan, dtype=np.int16 if len(scans) < 2**15 else np.int32)
        self.image = np.asarray(image, dtype=np.int32)  # position in that scan's images
        self.row = np.asarray(row, dtype=np.int64)

    @classmethod
    def of_scan(cls, scans: Sequence[Scan], i: int, rows: np.ndarray) -> Items:
        m = len(rows)
        return cls(scans, np.full(m, i), np.arange(m), rows)

    @classmethod
    def concat(cls, scans: Sequence[Scan], parts: Sequence[Items]) -> Items:
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return cls(scans, np.zeros(0), np.zeros(0), np.zeros(0))
        return cls(
            scans,
            np.concatenate([p.scan for p in parts]),
            np.concatenate([p.image for p in parts]),
            np.concatenate([p.row for p in parts]),
        )

    def __len__(self) -> int:
        return len(self.scan)

    def ref(self, i: int) -> ImageRef:
        return self._scans[int(self.scan[i])].images[int(self.image[i])]

    def name(self, i: int) -> str:
        return self._scans[int(self.scan[i])].images.name(int(self.image[i]))

    def row_of(self, i: int) -> int | None:
        r = int(self.row[i])
        return None if r < 0 else r

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return Item(int(self.scan[i]), self.ref(i), self.row_of(i))

    def __iter__(self) -> Iterator[Item]:
        for i in range(len(self)):
            yield self[i]

    def refs(self) -> Sequence[ImageRef]:
        """The items' images as a read-only sequence, each ``ImageRef`` made when asked for."""
        return _ItemRefs(self)

    def _end_to_end(self) -> tuple[list[ImageList], np.ndarray, bool]:
        """The image lists these items come from, each item's position in them laid end to end,
        and whether that is every image of them in order (nothing to pick then)."""
        used = np.unique(self.scan).tolist()
        start = np.zeros(int(self.scan.max()) + 1 if len(self) else 0, dtype=np.int64)
        total = 0
        for si in used:
            start[si] = total
            total += len(self._scans[si].images)
        pos = start[self.scan] + self.image
        every = len(pos) == total and bool((pos == np.arange(total)).all())
        return [self._scans[si].images for si in used], pos, every

    def sizes(self) -> np.ndarray:
        """Bytes of each image in its source (int64)."""
        lists, pos, every = self._end_to_end()
        sizes = np.concatenate([im.sizes() for im in lists]) if lists else np.zeros(0, np.int64)
        return sizes if every else sizes[pos]

    def names_arrow(self) -> pa.Array:
        """Every item's image name as an Arrow text array (no Python string per image); every
        image of one scan in order is that scan's own array (its buffer, not a copy)."""
        lists, pos, every = self._end_to_end()
        if not lists:
            return pa.array([], pa.large_string())
        names = (
            lists[0].names_arrow()
            if len(lists) == 1
            else pa.concat_arrays([im.names_arrow() for im in lists])
        )
        return names if every else names.take(pa.array(pos))


class _ItemRefs(Sequence[ImageRef]):
    __slots__ = ("_items",)

    def __init__(self, items: Items):
        self._items = items

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self._items.ref(j) for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("image index out of range")
        return self._items.ref(i)


class FieldState:
    """How each image fares on one field: ``status`` (OK, MISSING, INVALID) and the problem kind.

    ``kind`` (object per item: the problem kind, or None when OK) is kept as one-byte codes: the
    mapping is held for the whole pack, and seven fields of object pointers were 5.6 MB per
    100,000 images."""

    __slots__ = ("_status", "_codes", "_kinds", "_status_of")

    def __init__(self, status: np.ndarray, kind: np.ndarray):
        codes, uniq = pd.factorize(np.asarray(kind, dtype=object))  # None is -1
        self._codes = codes.astype(np.int8 if len(uniq) < 127 else np.int32)
        self._kinds = np.array([*uniq.tolist(), None], dtype=object)  # code -1: the last, None
        # The status follows from the kind (none: OK; a kind of absence: MISSING; else INVALID);
        # kept only where it does not (it always does, as the mapping builds them).
        self._status_of = np.array(
            [MISSING if k in MISSING_KINDS else INVALID for k in uniq.tolist()] + [OK], np.int8
        )
        derived = self._status_of[self._codes]
        self._status = None if np.array_equal(derived, status) else np.asarray(status, np.int8)

    @property
    def status(self) -> np.ndarray:
        """OK, MISSING or INVALID per item (int8)."""
        return self._status_of[self._codes] if self._status is None else self._status

    @property
    def kind(self) -> np.ndarray:
        return self._kinds[self._codes]

    def counts(self) -> tuple[int, int, int]:
        s = self.status
        return int((s == OK).sum()), int((s == MISSING).sum()), int((s == INVALID).sum())


@dataclass
class Mapped:
    scans: list[Scan]
    mapping: Mapping  # the effective mapping (suggested merged with given)
    items: Items
    converted: pd.DataFrame  # one row per item, iFDO columns (fields.Field.column) + image-filename
    ready: np.ndarray  # bool per item: every required field present and valid
    problems: list[Problem] = field(default_factory=list)
    # Per output field (the required ones, and the optional ones that are mapped): per-image state.
    fields: dict[str, FieldState] = field(default_factory=dict)
    # The effective mapping of each scan (readers of different instruments suggest differently).
    mappings: list[Mapping] = field(default_factory=list)
    # Suspicious kinds a person confirmed and how many images each made ready (plausibility.py).
    accepted: list[plausibility.Accepted] = field(default_factory=list)

    def raw_row(self, i: int) -> dict[str, str]:
        """Every original value of item ``i``'s row as text, with its table and row number."""
        it = self.items[i]
        if it.row is None:
            return {}
        rec = self.scans[it.scan].rows.iloc[it.row]
        return {str(k): ("" if is_missing(v) else str(v)) for k, v in rec.items()}

    def add_unreadable(self, i: int, message: str) -> Problem:
        """The pack step found that item ``i``'s pixels do not decode: record it, mark it not ready."""
        it = self.items[i]
        p = Problem(
            "unreadable_image", message, file=it.image.name, field="image", value=it.image.path
        )
        self.ready[i] = False
        self.problems.append(p)
        return p

    @property
    def n_ready(self) -> int:
        return int(self.ready.sum())


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


# --- joining images and rows ----------------------------------------------------------------------
def _join(
    scans: list[Scan],
    scan_i: int,
    spec: FieldSpec | None,
    problems: list[Problem],
    used: np.ndarray,
) -> Items:
    """Items of one scan; ``used`` (bool per row) marks the rows that describe an image."""
    scan = scans[scan_i]
    rows = scan.rows
    images = scan.images
    linked_rows = images.rows()
    linked = linked_rows >= 0
    # The reader's own links win, unless the user chose the image column themselves.
    by_reader = bool(linked.all()) and len(images) > 0 and (spec is None or spec.origin != "given")
    if spec is None or spec.column is None or rows.empty or by_reader:
        used[linked_rows[linked]] = True
        return Items.of_scan(scans, scan_i, linked_rows)
    col = spec.column
    if col not in rows.columns:
        problems.append(
            Problem(
                "missing_column",
                f"the image column {col!r} is not in the table",
                file=_first_table(scan),
                field="image",
                value=col,
            )
        )
        return Items.of_scan(scans, scan_i, linked_rows)
    # Exact names first, in Arrow (no Python string per row or image): the first row of a key wins.
    keys = name_keys(rows[col])
    positions = (
        pc.index_in(pc.utf8_lower(images.names_arrow()), value_set=keys)
        .fill_null(-1)
        .to_numpy(zero_copy_only=False)
        .astype(np.int64)
    )
    codes = pc.dictionary_encode(keys, null_encoding="encode").indices.to_numpy(
        zero_copy_only=False
    )
    named = pc.fill_null(pc.not_equal(keys, ""), False).to_numpy(zero_copy_only=False)
    first_of = np.full(int(codes.max()) + 1 if len(codes) else 0, -1, dtype=np.int64)
    order = np.arange(len(codes))[::-1]
    first_of[codes[order]] = order  # backwards: the first row of each key is written last
    dup_rows = [
        (pos, int(first_of[codes[pos]]))
        for pos in np.flatnonzero(named & (first_of[codes] != np.arange(len(codes)))).tolist()
    ]
    del keys, codes, named, first_of, order
    missing = np.flatnonzero(positions < 0).tolist()
    if missing:  # by file name or stem (rows that name "img_1" or "img_1.png" for "a/img_1.png")
        vals = rows[col].tolist()
        full: dict[str, int] = {}
        for pos in range(len(vals) - 1, -1, -1):  # backwards, so the first row of a key wins
            k = ("" if vals[pos] is None else str(vals[pos])).strip().replace("\\", "/").lower()
            if k:
                full[k] = pos
        del vals
        short: dict[str, int] = {}
        for key, p in sorted(full.items(), key=lambda kv: kv[1]):
            base = key.rsplit("/", 1)[-1]
            short.setdefault(base, p)
            short.setdefault(os.path.splitext(base)[0], p)
        for i in missing:
            n = images.name(i).lower()
            base = n.rsplit("/", 1)[-1]
            for k in (n, base, os.path.splitext(base)[0]):
                pos = full.get(k)
                if pos is None:
                    pos = short.get(k)
                if pos is not None:
                    positions[i] = pos
                    break
        del full, short
    used[positions[positions >= 0]] = True
    if dup_rows:
        tab, rn = _provenance(scan)
        for pos, first in dup_rows:
            if used[first]:
                used[pos] = True
            problems.append(
                Problem(
                    "duplicate_id",
                    f"this row names the same image as row {rn[first]}; the first row is used",
                    file=tab[pos],
                    row=rn[pos],
                    field="image",
                    value=str(rows[col].iat[pos]),
                    severity="warning",
                )
            )
    return Items.of_scan(scans, scan_i, positions)


def _first_table(scan: Scan) -> str:
    t = scan.tables
    return t[0] if t else str(scan.root)


def _provenance(scan: Scan) -> tuple[list, list]:
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
class _PerItem:
    """A value per item, worked out when a problem asks for it: the file and row number of every
    image are not built up front (100,000 images would hold 100,000 row numbers for a few
    problems)."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[int], object]):
        self.fn = fn

    def __getitem__(self, i: int) -> object:
        return self.fn(int(i))


_NOWHERE = _PerItem(lambda i: None)


@dataclass
class _Source:
    """The text each item has for one input field, and where a problem with it is to be found."""

    name: str
    spec: FieldSpec
    raw: np.ndarray  # object per item: text, or None (no row / no column)
    file: _PerItem  # per item: the table (or the image) a problem is to be found in
    row: _PerItem  # per item: the row number, or None
    per_item: bool  # False for constants: a problem is reported once, not per image
    absent_kind: str = "missing"  # the kind of a None: "image_without_row" or "missing_column"
    absent: np.ndarray | None = None  # bool per item: None because there is no row / column


def _source(
    name: str,
    spec: FieldSpec,
    scan: Scan,
    ctx: _ScanContext,
    problems: list[Problem],
) -> _Source:
    m = len(ctx.items)
    if spec.constant is not None and spec.column is None and not spec.pattern:
        return _Source(name, spec, filled(m, spec.constant), _NOWHERE, _NOWHERE, False)
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
                    file=_first_table(scan),
                    field=name,
                    value=spec.column,
                )
            )
            return _Source(
                name,
                spec,
                np.full(m, None, dtype=object),
                ctx.image_name,
                _NOWHERE,
                True,
                "missing_column",
                np.ones(m, dtype=bool),
            )
        col = ctx.column(spec.column)
        raw = np.full(m, None, dtype=object)
        has = ctx.has_row
        raw[has] = col[ctx.pos[has]]
        return _Source(name, spec, raw, ctx.file, ctx.rownum, True, "image_without_row", ~has)
    # a pattern on the file name
    return _Source(name, spec, ctx.names().copy(), ctx.image_name, _NOWHERE, True)


@dataclass
class _ScanContext:
    scan: Scan
    items: Items
    pos: np.ndarray  # row position per item, -1 for none
    has_row: np.ndarray
    _cols: dict[str, np.ndarray] = field(default_factory=dict)
    _names: np.ndarray | None = None
    _prov: tuple[list, list] | None = None

    @classmethod
    def of(cls, scan: Scan, items: Items) -> _ScanContext:
        return cls(scan, items, items.row, items.row >= 0)

    def names(self) -> np.ndarray:
        """Every item's image name, as an object array (for patterns on the file name)."""
        if self._names is None:
            items = self.items
            self._names = np.array([items.name(i) for i in range(len(items))] or [], dtype=object)
        return self._names

    @property
    def image_name(self) -> _PerItem:
        return _PerItem(self.items.name)

    def _provenance(self) -> tuple[list, list]:
        if self._prov is None:
            self._prov = _provenance(self.scan)
        return self._prov

    @property
    def file(self) -> _PerItem:
        """Where item i's row is (its table), or the image itself when it has no row."""
        if self.scan.rows.empty:
            return self.image_name
        return _PerItem(
            lambda i: self._provenance()[0][self.pos[i]] if self.has_row[i] else self.items.name(i)
        )

    @property
    def rownum(self) -> _PerItem:
        if self.scan.rows.empty:
            return _NOWHERE
        return _PerItem(lambda i: self._provenance()[1][self.pos[i]] if self.has_row[i] else None)

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
def _factorize(sources: Sequence[_Source]) -> tuple[np.ndarray, list]:
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
class _Result:
    values: np.ndarray  # float64 (nan) / int64 ns (_NAT) / object (None)
    status: np.ndarray
    kind: np.ndarray
    problems: list[Problem]


def _extract(spec: FieldSpec) -> Callable[[str | None], str | None]:
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


def _convert(
    out_name: str,
    sources: list[_Source],
    fn: Callable[..., object],
    dtype: str,
    *,
    severity: str = "error",
    report_missing: bool = True,
    fast: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
) -> _Result:
    """Parse every distinct combination of the sources' values once; spread results to items.

    ``fast`` (one source, no pattern) converts the plain distinct values all at once and says
    which it accepted; the parser ``fn`` handles the rest and explains what it refuses.
    """
    m = len(sources[0].raw)
    codes, tuples = _factorize(sources)
    extract = [_extract(s.spec) for s in sources]
    nu = len(tuples)
    if dtype == "float":
        uvals = np.full(nu, np.nan)
    elif dtype == "ns":
        uvals = np.full(nu, _NAT, dtype=np.int64)
    else:
        uvals = np.full(nu, None, dtype=object)
    done = np.zeros(nu, dtype=bool)
    if fast is not None and len(sources) == 1 and not sources[0].spec.pattern and nu > 64:
        fv, done = fast(np.array(tuples, dtype=object))
        uvals[done] = fv[done]
    ukind = np.full(nu, None, dtype=object)
    umsg: list[str | None] = [None] * nu
    ufield: list[int] = [0] * nu
    single = len(sources) == 1
    ex0 = extract[0]
    for j, tup in enumerate(tuples):
        if done[j]:
            continue
        k = 0
        try:
            if single:
                v = fn(ex0(tup))
            else:
                args = []
                for ex, v in zip(extract, tup, strict=True):
                    args.append(ex(v))
                    k += 1
                k = 0
                v = fn(*args)
            if dtype == "ns":
                d = v - _EPOCH
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
            problems.append(
                Problem(
                    k,
                    msg,
                    file=s.file[i],
                    row=s.row[i],
                    field=s.name,
                    value=s.raw[i],
                    severity=severity,
                )
            )
    return _Result(values, status, kind, problems)


def _date_and_time(
    s_d: _Source,
    s_t: _Source,
    dfmt: str | None,
    dayfirst: bool | None,
    tfmt: str | None,
    width: int | None,
    tz,
    now: datetime,
) -> _Result:
    """Dates and times parsed apart (each distinct value once), joined as arrays, then placed in
    the dataset's time zone: a cruise has few dates and many times, never many of both."""

    def day(d):
        x = parsers.parse_date(d, dfmt, dayfirst)
        return datetime(x.year, x.month, x.day, tzinfo=UTC)

    dres = _convert("date", [s_d], day, "ns")
    tres = _convert(
        "time",
        [s_t],
        lambda t: parsers.parse_time(t, tfmt, width),
        "float",
        fast=bulk.fast_time(tfmt, width),
    )
    ok = (dres.status == OK) & (tres.status == OK)
    m = len(ok)
    wall = np.full(m, _NAT, dtype=np.int64)
    wall[ok] = dres.values[ok] + np.round(tres.values[ok] * 1e9).astype(np.int64)
    utc = np.full(m, _NAT, dtype=np.int64)
    off = tz.utcoffset(None) if not hasattr(tz, "key") else None
    if off is not None:
        utc[ok] = wall[ok] - int(off.total_seconds()) * 1_000_000_000
    elif ok.any():
        uniq, inv = np.unique(wall[ok], return_inverse=True)
        conv = np.empty(len(uniq), dtype=np.int64)
        for j, ns in enumerate(uniq.tolist()):
            local = datetime(1970, 1, 1) + timedelta(microseconds=ns // 1000)
            d = local.replace(tzinfo=tz).astimezone(UTC) - _EPOCH
            conv[j] = (
                (d.days * 86_400 + d.seconds) * 1_000_000_000 + d.microseconds * 1000 + ns % 1000
            )
        utc[ok] = conv[inv]
    status = np.where(dres.status != OK, dres.status, tres.status).astype(np.int8)
    kind = np.where(dres.status != OK, dres.kind, tres.kind)
    early = int((parsers.EARLIEST - _EPOCH) / timedelta(microseconds=1)) * 1000
    late = int((now + timedelta(days=1) - _EPOCH) / timedelta(microseconds=1)) * 1000
    bad = ok & ((utc < early) | (utc > late))
    problems = dres.problems + tres.problems
    for i in np.flatnonzero(bad).tolist():
        msg = (
            "before 1900: check the format"
            if utc[i] < early
            else "in the future: check the format or the instrument clock"
        )
        problems.append(
            Problem(
                "out_of_range",
                msg,
                file=s_d.file[i],
                row=s_d.row[i],
                field="date",
                value=f"{s_d.raw[i]} {s_t.raw[i]}",
            )
        )
    status[bad] = INVALID
    kind[bad] = "out_of_range"
    utc[status != OK] = _NAT
    return _Result(utc, status, kind, problems)


def _text(s: _Source) -> _Result:
    """Labels and identifiers: the text as written, trimmed; empty or a placeholder is missing.
    (Done in one pass, not per distinct value: identifiers are all distinct.)"""
    extract = _extract(s.spec)
    m = len(s.raw)
    vals = np.full(m, None, dtype=object)
    status = np.zeros(m, dtype=np.int8)
    kind = np.full(m, None, dtype=object)
    sentinels = parsers.TEXT_SENTINELS
    for i, v in enumerate(s.raw.tolist()):
        try:
            t = extract(v)
        except parsers.ParseError:
            t = None
        t = t.strip() if isinstance(t, str) else ""
        if not t or t.lower() in sentinels:
            status[i] = MISSING
            kind[i] = "missing" if not t else "sentinel"
        else:
            vals[i] = t
    return _Result(vals, status, kind, [])


def _not_mapped(m: int, dtype: str) -> _Result:
    if dtype == "float":
        vals = np.full(m, np.nan)
    elif dtype == "ns":
        vals = np.full(m, _NAT, dtype=np.int64)
    else:
        vals = np.full(m, None, dtype=object)
    return _Result(vals, np.full(m, MISSING, dtype=np.int8), filled(m, "not_mapped"), [])


def _all_invalid(res: _Result, kind: str) -> _Result:
    m = len(res.status)
    return _Result(
        _not_mapped(
            m,
            "float"
            if res.values.dtype == float
            else ("ns" if res.values.dtype == np.int64 else "obj"),
        ).values,
        np.full(m, INVALID, dtype=np.int8),
        filled(m, kind),
        res.problems,
    )


# --- settings --------------------------------------------------------------------------------------
@dataclass
class _Settings:
    tz: object = UTC
    tz_bad: bool = False
    surface: float | None = None
    surface_bad: bool = False
    zero_ok: bool = False


def _settings(mapping: Mapping, problems: list[Problem]) -> _Settings:
    st = _Settings()
    for name in ("timezone", "surface_altitude", "zero_position_confirmed"):
        spec = mapping.get(name)
        if spec is None or not spec.has_source:
            continue
        if spec.constant is None:
            problems.append(
                Problem(
                    "bad_setting",
                    f"{name} is one value for the whole dataset: give it as a value, not a column",
                    field=name,
                    value=spec.column or spec.pattern,
                )
            )
            if name == "timezone":
                st.tz_bad = True
            elif name == "surface_altitude":
                st.surface_bad = True
            continue
        try:
            if name == "timezone":
                st.tz = parsers.parse_timezone(spec.constant)
            elif name == "surface_altitude":
                st.surface = parsers.parse_length(spec.constant, spec.unit)
            else:
                st.zero_ok = parsers.parse_bool(spec.constant)
        except parsers.ParseError as exc:
            problems.append(Problem("bad_setting", str(exc), field=name, value=spec.constant))
            if name == "timezone":
                st.tz_bad = True
            elif name == "surface_altitude":
                st.surface_bad = True
    return st


# --- one scan ----------------------------------------------------------------------------------------
def _map_scan(
    scan: Scan,
    items: Items,
    mapping: Mapping,
    st: _Settings,
    now: datetime,
    problems: list[Problem],
    task: Task | None = None,
) -> dict[str, _Result]:
    ctx = _ScanContext.of(scan, items)
    m = len(items)
    out: dict[str, _Result] = {}

    def src(name: str) -> _Source | None:
        if task is not None:
            task.check()  # between fields: the GUI cancels a check when the user edits again
        spec = mapping.get(name)
        if spec is None or not spec.has_source or name == "image":
            return None
        return _source(name, spec, scan, ctx, problems)

    # datetime, or date (+ time)
    s_dt, s_d = src("datetime"), src("date")
    if s_dt is not None:
        fmt = s_dt.spec.format
        dayfirst = (
            column_dayfirst([v for v in pd.unique(s_dt.raw) if isinstance(v, str)][:5000])
            if fmt in (None, "auto")
            else None
        )
        tz = st.tz
        out["datetime"] = _convert(
            "datetime",
            [s_dt],
            lambda v: parsers.parse_datetime(v, fmt, tz, dayfirst, now=now),
            "ns",
        )
    elif s_d is not None:
        s_t = src("time")
        dfmt = s_d.spec.format
        dayfirst = (
            column_dayfirst([v for v in pd.unique(s_d.raw) if isinstance(v, str)][:5000])
            if dfmt in (None, "auto")
            else None
        )
        tz = st.tz
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

            out["datetime"] = _date_and_time(s_d, s_t, dfmt, dayfirst, tfmt, width, tz, now)
        else:
            problems.append(
                Problem(
                    "no_time",
                    "only a date is mapped: every image is taken at 00:00 of its day",
                    field="time",
                    severity="warning",
                )
            )
            out["datetime"] = _convert(
                "datetime",
                [s_d],
                lambda d: parsers.combine(parsers.parse_date(d, dfmt, dayfirst), 0.0, tz, now=now),
                "ns",
            )
    else:
        out["datetime"] = _not_mapped(m, "ns")
    if st.tz_bad and "datetime" in out and (s_dt or s_d):
        out["datetime"] = _all_invalid(out["datetime"], "bad_setting")

    for axis, name in (("lat", "latitude"), ("lon", "longitude")):
        s = src(name)
        if s is None:
            out[name] = _not_mapped(m, "float")
        else:
            fmt, neg = s.spec.format, s.spec.negate
            out[name] = _convert(
                name,
                [s],
                lambda v, a=axis, f=fmt, n=neg: parsers.parse_coordinate(v, a, f, n),
                "float",
                fast=bulk.fast_coordinate(axis, fmt, neg),
            )

    # a position of exactly 0,0 is an instrument's default unless the user confirmed it
    lat, lon = out["latitude"], out["longitude"]
    zero = (lat.status == OK) & (lon.status == OK) & (lat.values == 0) & (lon.values == 0)
    if zero.any() and not st.zero_ok:
        s_lat = src("latitude")
        for r in (lat, lon):
            r.status[zero] = INVALID
            r.kind[zero] = "default_position"
        msg = "latitude and longitude are both 0, the default of instruments without GPS: map the real position, or confirm that the samples were taken at 0, 0 (zero_position_confirmed)"
        if s_lat is not None and s_lat.per_item:
            for i in np.flatnonzero(zero).tolist():
                problems.append(
                    Problem(
                        "default_position",
                        msg,
                        file=s_lat.file[i],
                        row=s_lat.row[i],
                        field="latitude",
                        value="0, 0",
                    )
                )
        else:
            problems.append(
                Problem(
                    "default_position",
                    msg + " (the value given for every image)",
                    field="latitude",
                    value="0, 0",
                )
            )

    # depth (positive down) and altitude (negative below the sea surface)
    def depth_fn(spec: FieldSpec):
        return lambda v: parsers.check_depth(parsers.parse_length(v, spec.unit, negate=spec.negate))

    def depth_fast(spec: FieldSpec):
        factor = parsers.LENGTH_UNITS.get((spec.unit or "m").lower())
        return bulk.fast_scaled(factor, 0.0, 11_100.0, negate=spec.negate)

    s_depth, s_dmin, s_dmax = src("depth"), src("depth_min"), src("depth_max")
    for name, s in (("depth_min", s_dmin), ("depth_max", s_dmax)):
        if s is not None:
            out[name] = _convert(
                name,
                [s],
                depth_fn(s.spec),
                "float",
                severity="warning" if s_depth else "error",
                fast=depth_fast(s.spec),
            )
    if s_dmin is not None and s_dmax is not None:
        # A range's top is the shallower end, whichever column holds it (ZooProcess headers and
        # log sheets write a net's Zmin/Zmax either way round).
        a, b = out["depth_min"], out["depth_max"]
        flip = (a.status == OK) & (b.status == OK) & (a.values > b.values)
        if flip.any():
            a.values[flip], b.values[flip] = b.values[flip], a.values[flip].copy()
    if s_depth is not None:
        out["depth"] = _convert(
            "depth", [s_depth], depth_fn(s_depth.spec), "float", fast=depth_fast(s_depth.spec)
        )
    elif s_dmin is not None and s_dmax is not None:
        # the middle of the range; depth_min and depth_max reported their own problems
        a, b = out["depth_min"], out["depth_max"]
        status = np.maximum(a.status, b.status)
        kind = np.where(a.status != OK, a.kind, b.kind)
        out["depth"] = _Result((a.values + b.values) / 2, status, kind, [])
    elif s_dmin is not None or s_dmax is not None:
        one = out["depth_min" if s_dmin is not None else "depth_max"]
        out["depth"] = _Result(one.values.copy(), one.status.copy(), one.kind.copy(), [])
    s_alt = src("altitude")
    if s_alt is not None:
        spec = s_alt.spec

        def alt_fn(v, spec=spec):
            a = parsers.parse_length(v, spec.unit, negate=spec.negate)
            if not -11_100 <= a <= 9_000:
                raise parsers.ParseError(
                    "outside -11100..9000 m: check the unit or the sign", "out_of_range"
                )
            return a

        factor = parsers.LENGTH_UNITS.get((spec.unit or "m").lower())
        out["altitude"] = _convert(
            "altitude",
            [s_alt],
            alt_fn,
            "float",
            fast=bulk.fast_scaled(factor, -11_100.0, 9_000.0, negate=spec.negate),
        )
    elif "depth" in out:
        d = out["depth"]
        surface = st.surface if st.surface is not None else 0.0
        res = _Result(surface - d.values, d.status.copy(), d.kind.copy(), [])
        out["altitude"] = _all_invalid(res, "bad_setting") if st.surface_bad else res
    else:
        out["altitude"] = _not_mapped(m, "float")

    s = src("pixel_size")
    if s is None:
        out["pixel_size"] = _not_mapped(m, "float")
    else:
        unit, kind = s.spec.unit, scan.kind
        out["pixel_size"] = _convert(
            "pixel_size",
            [s],
            lambda v: parsers.check_pixel_size(parsers.parse_pixel_size(v, unit), kind),
            "float",
            fast=bulk.fast_pixel_size(unit, kind),
        )

    s = src("volume_sampled")
    if s is not None:
        factor = {"l": 1.0, "ml": 0.001, "cl": 0.01, "m3": 1000.0, "ul": 1e-6, "µl": 1e-6}.get(
            (s.spec.unit or "l").lower().replace("³", "3")
        )

        def vol(v, factor=factor):
            if factor is None:
                raise parsers.ParseError("unknown volume unit (L, mL, m3, uL)")
            x = parsers.parse_number(v) * factor
            if x < 0:
                raise parsers.ParseError("a volume cannot be negative", "out_of_range")
            return x

        out["volume_sampled"] = _convert(
            "volume_sampled", [s], vol, "float", severity="warning", report_missing=False
        )
    for name in TEXT_FIELDS:
        s = src(name)
        if s is not None:
            out[name] = _text(s)
            if name == "object_id" and s.per_item:
                problems.extend(_duplicates(s, out[name]))
    for r in out.values():
        problems.extend(r.problems)
    return out


def _duplicates(s: _Source, res: _Result) -> list[Problem]:
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
        out.append(
            Problem(
                "duplicate_id",
                f"another image has the same object id ({where})",
                file=s.file[i],
                row=s.row[i],
                field="object_id",
                value=res.values[i],
                severity="warning",
            )
        )
    return out


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
        per_scan.append(_join(scans, i, per_scan_mapping[i].get("image"), problems, used))
    items = Items.concat(scans, per_scan)
    n = len(items)
    task.start("map", n, message="Checking metadata")
    st = _settings(mapping, problems)
    now = datetime.now(UTC)
    names = [*REQUIRED_FIELDS, *OPTIONAL_FIELDS]
    chunks: dict[str, list[_Result]] = {k: [] for k in names}
    present: set[str] = set(REQUIRED_FIELDS)
    field_problems: list[Problem] = []
    for si, (scan, its) in enumerate(zip(scans, per_scan, strict=True)):
        task.check()
        res = _map_scan(scan, its, per_scan_mapping[si], st, now, field_problems, task)
        present |= set(res)
        m = len(its)
        for k in names:
            if k in res:
                chunks[k].append(res[k])
            else:
                chunks[k].append(_not_mapped(m, "obj" if k in TEXT_FIELDS else "float"))
        task.advance(m)
    # The fields that nothing is mapped to, once each (not once per image).
    for name in REQUIRED_FIELDS:
        if all(bool((c.kind == "not_mapped").all()) for c in chunks[name]) and n:
            alt = {
                "datetime": " (or date and time)",
                "altitude": " (or depth; for lakes also surface_altitude)",
            }.get(name, "")
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

    def cat(k: str) -> _Result:
        cs = chunks[k]
        if not cs:
            return _not_mapped(0, "obj" if k in TEXT_FIELDS else "float")
        if len(cs) == 1:  # one part (the common case): no copy
            return _Result(cs[0].values, cs[0].status, cs[0].kind, [])
        return _Result(
            np.concatenate([c.values for c in cs]) if n else cs[0].values,
            np.concatenate([c.status for c in cs]),
            np.concatenate([c.kind for c in cs]),
            [],
        )

    merged = {k: cat(k) for k in names if k in present}
    chunks.clear()  # the merged arrays are what is kept
    # Arrow-backed text: no Python string per image name
    cols: dict[str, object] = {"image-filename": text_series(items.names_arrow())}
    dt = merged["datetime"].values
    if dt.dtype != np.int64:
        dt = np.full(n, _NAT, dtype=np.int64)
    cols["image-datetime"] = pd.DatetimeIndex(dt.view("M8[ns]")).tz_localize("UTC")
    for k in ("latitude", "longitude", "altitude", "pixel_size", *OPTIONAL_FIELDS):
        if k in merged and (k in REQUIRED_FIELDS or k in present):
            v = merged[k].values
            if merged[k].status.size:
                v = v.copy()
                bad = merged[k].status != OK
                if v.dtype == object:
                    v[bad] = None
                else:
                    v[bad] = np.nan
            cols[BY_NAME[k].column] = v
    converted = pd.DataFrame(cols)
    for c in REQUIRED_COLUMNS[1:]:
        if c not in converted.columns:
            converted[c] = np.nan
    ready = np.ones(n, dtype=bool)
    for k in REQUIRED_FIELDS:
        ready &= merged[k].status == OK
    accepted = _plausible(scans, items, converted, mapping, merged, ready, problems)
    states = {k: FieldState(r.status, r.kind) for k, r in merged.items()}
    # Images without a row: an error when it leaves the image unready, otherwise a note.
    k = 0
    for si, its in enumerate(per_scan):
        if _expects_rows(scans[si], per_scan_mapping[si]):
            for j in np.flatnonzero(its.row < 0).tolist():
                problems.append(
                    Problem(
                        "image_without_row",
                        "no table row names this image",
                        file=its.name(j),
                        field="image",
                        severity="error" if not ready[k + j] else "warning",
                    )
                )
        k += len(its)
    for scan, used in used_rows.values():
        if not _joined_by_column(scan, per_scan_mapping[scans.index(scan)]):
            continue
        spec = per_scan_mapping[scans.index(scan)].get("image")
        col = spec.column if spec is not None and spec.column in scan.rows.columns else None
        unused = np.flatnonzero(~used).tolist()
        if not unused:
            continue
        tab, rn = _provenance(scan)
        vals = scan.rows[col].tolist() if col else [None] * len(scan.rows)
        for pos in unused:
            problems.append(
                Problem(
                    "row_without_image",
                    "this row names an image that was not found",
                    file=tab[pos],
                    row=rn[pos],
                    field="image",
                    value=None if vals[pos] is None else str(vals[pos]),
                    severity="warning",
                )
            )
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
        tab, rn = prov.get(s) or prov.setdefault(s, _provenance(scans[s]))
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


def _expects_rows(scan: Scan, mapping: Mapping) -> bool:
    """Whether the scan's images are meant to be described by rows (a table was read or joined)."""
    if scan.rows.empty:
        return False
    spec = mapping.get("image")
    return (spec is not None and spec.column is not None) or bool((scan.images.rows() >= 0).any())


def _joined_by_column(scan: Scan, mapping: Mapping) -> bool:
    """Whether rows were matched to images through the image column (not by the reader)."""
    spec = mapping.get("image")
    if scan.rows.empty or spec is None or spec.column is None:
        return False
    linked = int((scan.images.rows() >= 0).sum())
    return not (linked and linked == len(scan.images) and spec.origin != "given")
