"""Apply a mapping to scanned sources: join images to rows, convert every field, list problems.

``apply_mapping(scans, mapping, task) -> Mapped`` is the contract the report, the package writer,
the CLI and the GUI rely on.  Parsers live in ``parsers.py``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..fields import BY_NAME, REQUIRED_COLUMNS
from ..problems import Problem
from ..progress import Task, null_task
from ..sources.base import ROW_COL, TABLE_COL, ImageRef, Scan
from . import parsers
from .model import FieldSpec, Mapping

# Fields whose converted column must be present and valid for an image to be packed.
REQUIRED_FIELDS = ("datetime", "latitude", "longitude", "altitude", "pixel_size")


@dataclass
class Item:
    """One image to pack: which scan it is from, where its pixels are, which row describes it."""

    scan: int  # index into Mapped.scans
    image: ImageRef
    row: int | None  # position in scans[scan].rows, or None when no row describes it


@dataclass
class Mapped:
    scans: list[Scan]
    mapping: Mapping  # the effective mapping (suggested merged with given)
    items: list[Item]
    converted: pd.DataFrame  # one row per item, iFDO columns (fields.Field.column) + image-filename
    ready: np.ndarray  # bool per item: every required field present and valid
    problems: list[Problem] = field(default_factory=list)

    def raw_row(self, i: int) -> dict[str, str]:
        """Every original value of item ``i``'s row as text, with its table and row number."""
        it = self.items[i]
        if it.row is None:
            return {}
        rec = self.scans[it.scan].rows.iloc[it.row]
        return {str(k): ("" if v is None else str(v)) for k, v in rec.items()}


def effective_mapping(scans: list[Scan], given: Mapping) -> Mapping:
    """Suggested fields from the readers (first scan wins), overridden by what the user gave."""
    suggested = Mapping()
    for s in scans:
        prof = s.suggested or {}
        for name, spec in (prof.get("fields") or {}).items():
            if name in BY_NAME and name not in suggested.fields:
                suggested.fields[name] = FieldSpec.from_dict(spec, origin="suggested")
    return suggested.merged(given)


def _join(scan_i: int, scan: Scan, spec: FieldSpec | None, problems: list[Problem]) -> list[Item]:
    rows = scan.rows
    if spec is None or spec.column is None or rows.empty:
        return [Item(scan_i, im, im.row) for im in scan.images]
    col = spec.column
    if col not in rows.columns:
        problems.append(Problem("missing_column", f"the image column {col!r} is not in the table", file=str(scan.root), field="image", value=col))
        return [Item(scan_i, im, im.row) for im in scan.images]
    index: dict[str, int] = {}
    for pos, v in enumerate(rows[col].tolist()):
        key = str(v).strip().replace("\\", "/").lower()
        if key:
            index.setdefault(key, pos)
            index.setdefault(key.rsplit("/", 1)[-1], pos)
    items = []
    used: set[int] = set()
    for im in scan.images:
        n = im.name.lower()
        base = n.rsplit("/", 1)[-1]
        pos = index.get(n, index.get(base, index.get(os.path.splitext(base)[0])))
        if pos is None:
            problems.append(Problem("image_without_row", "no table row names this image", file=im.name, field="image"))
        else:
            used.add(pos)
        items.append(Item(scan_i, im, pos))
    for pos in range(len(rows)):
        if pos not in used:
            r = rows.iloc[pos]
            problems.append(
                Problem("row_without_image", "this row names an image that was not found", file=str(r.get(TABLE_COL, "")), row=int(r.get(ROW_COL, pos + 1)), field="image", value=str(r[col]), severity="warning")
            )
    return items


def _values(spec: FieldSpec, scan: Scan, items: list[Item]) -> list[str | None]:
    if spec.pattern:
        import re

        rx = re.compile(spec.pattern)
        out: list[str | None] = []
        for it in items:
            src = it.image.name if spec.column is None else _cell(scan, it, spec.column)
            m = rx.search(src or "") if src is not None else None
            out.append((m.group("value") if "value" in rx.groupindex else m.group(m.lastindex or 0)) if m else None)
        return out
    if spec.column is not None:
        return [_cell(scan, it, spec.column) for it in items]
    return [spec.constant] * len(items)


def _cell(scan: Scan, it: Item, column: str) -> str | None:
    if it.row is None or column not in scan.rows.columns:
        return None
    v = scan.rows.iat[it.row, scan.rows.columns.get_loc(column)]
    return None if v is None else str(v)


def apply_mapping(scans: list[Scan], given: Mapping, task: Task | None = None) -> Mapped:
    task = task or null_task()
    mapping = effective_mapping(scans, given)
    problems: list[Problem] = []
    items: list[Item] = []
    per_scan: list[list[Item]] = []
    for i, s in enumerate(scans):
        problems.extend(s.problems)
        its = _join(i, s, mapping.get("image"), problems)
        per_scan.append(its)
        items.extend(its)
    task.start("map", len(items), message="Checking metadata")
    n = len(items)
    cols: dict[str, list] = {c: [None] * n for c in REQUIRED_COLUMNS[1:]}
    base = 0
    tz = mapping.get("timezone").constant if mapping.get("timezone") else None
    surface = mapping.get("surface_altitude")
    _has_problem: dict[tuple[str, int], bool] = {}
    for si, (scan, its) in enumerate(zip(scans, per_scan, strict=True)):
        vals = {name: _values(spec, scan, its) for name, spec in mapping.fields.items() if BY_NAME[name].kind != "setting" and name != "image"}
        for j, it in enumerate(its):
            k = base + j
            cols["image-filename"][k] = it.image.name

            def where(name: str) -> tuple[str, int | None]:
                spec = mapping.fields[name]
                if spec.column is not None and it.row is not None:
                    r = scan.rows.iloc[it.row]
                    return str(r.get(TABLE_COL, scan.root)), int(r.get(ROW_COL, it.row + 1))
                return it.image.name, None

            def conv(name: str, parse, **kw):
                if name not in vals:
                    return None
                raw = vals[name][j]
                spec = mapping.fields[name]
                try:
                    return parse(raw, spec, **kw)
                except parsers.ParseError as exc:
                    _has_problem[(name, k)] = True
                    f, r = where(name)
                    problems.append(Problem(exc.kind, str(exc), file=f, row=r, field=name, value=raw))
                    return None

            dt = conv("datetime", parsers.parse_datetime_spec, tz=tz)
            if dt is None and "date" in vals:
                d = conv("date", parsers.parse_date_spec)
                t = conv("time", parsers.parse_time_spec) if "time" in vals else 0.0
                if d is not None and t is not None:
                    dt = parsers.combine(d, t, tz)
            cols["image-datetime"][k] = dt
            cols["image-latitude"][k] = conv("latitude", parsers.parse_coordinate_spec, axis="lat")
            cols["image-longitude"][k] = conv("longitude", parsers.parse_coordinate_spec, axis="lon")
            alt = conv("altitude", parsers.parse_length_spec)
            depth = conv("depth", parsers.parse_length_spec)
            dmin = conv("depth_min", parsers.parse_length_spec)
            dmax = conv("depth_max", parsers.parse_length_spec)
            if depth is None and dmin is not None and dmax is not None:
                depth = (dmin + dmax) / 2
            elif depth is None:
                depth = dmin if dmin is not None else dmax
            for col_name, v in (("image-depth-meters", depth), ("image-depth-min-meters", dmin), ("image-depth-max-meters", dmax)):
                if v is not None:
                    cols.setdefault(col_name, [None] * n)[k] = v
            if alt is None and depth is not None:
                s_alt = parsers.parse_float(surface.constant) if surface and surface.constant else 0.0
                alt = s_alt - depth
            cols["image-altitude-meters"][k] = alt
            cols["image-pixel-size-micrometers"][k] = conv("pixel_size", parsers.parse_pixel_size_spec)
            for name in ("volume_sampled", "label", "sample_id", "station_id", "object_id"):
                if name in vals:
                    v = conv(name, parsers.parse_float_spec) if BY_NAME[name].kind == "number" else vals[name][j]
                    cols.setdefault(BY_NAME[name].column, [None] * n)[k] = v
            if k % 1000 == 0:
                task.check()
                task.advance(min(1000, n - k))
        base += len(its)
    conv_df = pd.DataFrame(cols)
    conv_df["image-datetime"] = pd.to_datetime(conv_df["image-datetime"], utc=True)
    ready = np.ones(n, dtype=bool)
    for name in REQUIRED_FIELDS:
        c = BY_NAME[name].column
        present = conv_df[c].notna().to_numpy()
        missing = ~present
        if name == "altitude" and mapping.get("altitude") is None and not any(x in mapping.fields for x in ("depth", "depth_min", "depth_max")):
            problems.append(Problem("missing", "no column or constant is mapped to depth or altitude", field="altitude"))
        elif name != "altitude" and mapping.get(name) is None and not (name == "datetime" and mapping.get("date")):
            problems.append(Problem("missing", f"no column or constant is mapped to {name}", field=name))
        else:
            for k in np.flatnonzero(missing):
                if not _has_problem.get((name, k)):
                    problems.append(Problem("missing", f"no value for {name}", file=items[k].image.name, field=name))
        ready &= present
    item_rows = [it.row for it in items]
    has_table = any(not s.rows.empty for s in scans)
    if has_table and mapping.get("image") is not None:
        ready &= np.array([r is not None for r in item_rows], dtype=bool) if n else ready
    task.finish(f"{int(ready.sum())} of {n} images ready")
    return Mapped(scans, mapping, items, conv_df, ready, problems)
