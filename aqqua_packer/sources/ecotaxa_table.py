"""EcoTaxa tables (``ecotaxa*.tsv``) and the images they name, read into a Scan.

EcoTaxa's TSV is the common tongue of plankton imaging: PlanktoScope, UVP5/UVP6, ZooScan, LOKI and
VPR all write it.  This module reads it faithfully for the ``ecotaxa`` reader and for the instrument
readers that find such tables in their folders (``uvp6``, ``uvp5``, ``zooscan``, ``planktoscope``):

* ``find_tsvs``, ``peek_header``, ``first_values``: cheap looks for ``detect``.
* ``read_tsv`` reads one table as text: the second line of ``[t]``/``[f]`` type markers (a missing
  one is reported), UTF-8 with BOM or else latin-1 (cp1252), CR / CRLF / LF line ends, and rows with
  too few or too many values reported by file and row and kept out.
* ``join_tables`` joins rows to images (``img_file_name`` is relative to the TSV's folder), keeps
  the lowest ``img_rank`` of each ``object_id`` and sets the other ranks aside.
* ``build_scan`` does all of it for a folder, zip or one TSV and suggests a mapping.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..problems import Problem, UserError
from ..progress import Task
from .base import ROW_COL, TABLE_COL, ImageRef, Scan, SetAside
from .ecotaxa_suggest import sensor_of, suggest
from .listing import Entry, Tree, list_tree, open_zip, shallow_files
from .pixels import IMAGE_SUFFIXES
from .reader import concat_rows
from .suggested import col
from .tables import decode_text, unique_names

TSV_NAME = re.compile(r"^ecotaxa[^/]*\.tsv$", re.I)
TYPE_MARKERS = ("[t]", "[f]")


# --- cheap recognition ------------------------------------------------------------------------
def find_tsvs(path: Path) -> list[Entry]:
    """``ecotaxa*.tsv`` files near the top of a folder (and in its top zips) or inside a zip.

    Cheap: see ``listing.shallow``; a folder of 100,000 images is answered in milliseconds.
    """
    from ..progress import null_task

    path = Path(path)
    if path.is_file():
        if path.suffix.lower() == ".zip":
            return list_tree(path, null_task()).select(TSV_NAME)
        if TSV_NAME.match(path.name):
            return [Entry(path.name, str(path), (), path.stat().st_size)]
        return []
    if not path.is_dir():
        return []
    found: list[Entry] = []
    for n in shallow_files(path, (".tsv", ".zip")):
        name = n.rel.rsplit("/", 1)[-1]
        if TSV_NAME.match(name):
            found.append(Entry(n.rel, n.path, (), 0))
        elif n.rel.count("/") <= 1 and name.lower().endswith(".zip"):
            sub = Tree(path)
            open_zip(sub, Path(n.path), f"{n.rel}/", null_task())
            found += sub.select(TSV_NAME)
    return sorted(found, key=lambda e: e.name)


def peek_header(entry: Entry) -> tuple[list[str], list[str]]:
    """(column names, values of line 2) of a TSV, reading only its first 64 KB where possible."""
    try:
        if not entry.members:
            with open(entry.path, "rb") as fh:
                data = fh.read(65536)
        elif len(entry.members) == 1:
            with zipfile.ZipFile(entry.path) as zf, zf.open(entry.members[0]) as fh:
                data = fh.read(65536)
        else:
            data = entry.read()[:65536]
    except (OSError, KeyError, zipfile.BadZipFile):
        return [], []
    text = decode_text(data, entry.display).replace("\r\n", "\n").replace("\r", "\n")
    lines = text.lstrip("\ufeff").split("\n")[:2] + ["", ""]
    # EcoTaxa's own export quotes every name and value ("object_id"\t"object_lat"...)
    return (
        [_unquote(c.strip()) for c in lines[0].split("\t")],
        [_unquote(v.strip()) for v in lines[1].split("\t")],
    )


def first_values(entry: Entry, columns: Iterable[str]) -> dict[str, str]:
    """The first data row's values of some columns (lower-case names), for cheap recognition."""
    try:
        if not entry.members:
            with open(entry.path, "rb") as fh:
                data = fh.read(65536)
        else:
            data = entry.read()[:65536]
    except (OSError, KeyError, zipfile.BadZipFile):
        return {}
    text = decode_text(data, entry.display).lstrip("\ufeff")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if len(lines) < 2:
        return {}
    header = [_unquote(h.strip()).lower() for h in lines[0].split("\t")]
    line2 = [_unquote(v.strip()) for v in lines[1].split("\t")]
    row = lines[2] if len(lines) > 2 and is_type_line(line2) else lines[1]
    vals = [_unquote(v.strip()) for v in row.split("\t")]
    want = {c.lower() for c in columns}
    return {
        h: (vals[i].strip() if i < len(vals) else "") for i, h in enumerate(header) if h in want
    }


def is_type_line(values: list[str]) -> bool:
    cells = [v.strip().lower() for v in values]
    return bool(cells) and any(cells) and all(c in TYPE_MARKERS or c == "" for c in cells)


# --- one table ---------------------------------------------------------------------------------
@dataclass
class Table:
    """One EcoTaxa TSV read as text."""

    entry: Entry
    rows: pd.DataFrame  # text values + TABLE_COL + ROW_COL
    has_type_line: bool
    problems: list[Problem]


def _unquote(v: str) -> str:
    if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
        return v[1:-1].replace('""', '"')
    return v


def read_tsv_text(
    text: str, where: str, table_name: str
) -> tuple[pd.DataFrame, bool, list[Problem]]:
    """Parse the text of an EcoTaxa TSV: (rows, has type line, problems).

    Rows whose number of values differs from the number of column names are kept out and reported
    by row (a truncated last line is common when an instrument stops mid-write).
    """
    problems: list[Problem] = []
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines or not lines[0].strip():
        raise UserError(f"{where}: the table is empty (no column names on line 1)")
    # One record per line, split on tabs: instruments do not quote, and a stray '"' in a value
    # (a 5" net) must not swallow the following lines.  Wholly quoted values are unquoted.
    records = [
        [_unquote(v) for v in line.split("\t")] if '"' in line else line.split("\t")
        for line in lines
    ]
    header = unique_names(records[0], where)  # a repeated name is noted (issue 15)
    n = len(header)
    body = records[1:]
    start = 2
    has_type = False
    if body and is_type_line(body[0]):
        has_type = True
        body, start = body[1:], 3
        if len(records[1]) != n:
            problems.append(
                Problem(
                    "bad_table",
                    f"the [t]/[f] type line has {len(records[1])} markers for {n} columns",
                    file=where,
                    row=2,
                    severity="warning",
                )
            )
    elif body:
        cells = [v.strip().lower() for v in body[0]]
        marked = sum(c in TYPE_MARKERS for c in cells)
        if marked and marked >= len([c for c in cells if c]) / 2:
            bad = [
                f"{header[i]}={v!r}"
                for i, v in enumerate(body[0][:n])
                if v.strip().lower() not in (*TYPE_MARKERS, "")
            ]
            problems.append(
                Problem(
                    "bad_table",
                    "line 2 is the [t]/[f] type line but some columns have no [t] or [f]: "
                    + ", ".join(bad[:5]),
                    file=where,
                    row=2,
                )
            )
            body, start = body[1:], 3
            has_type = True
        else:
            problems.append(
                Problem(
                    "missing_type_line",
                    "line 2 is not the [t]/[f] type line an EcoTaxa table has after its column "
                    "names; line 2 is read as data (EcoTaxa itself would reject this table)",
                    file=where,
                    row=2,
                    severity="warning",
                )
            )
    fixed: list[list[str]] = []
    rownums: list[int] = []
    for i, rec in enumerate(body):
        line = start + i
        if not rec or (len(rec) == 1 and not rec[0].strip()):
            continue
        if len(rec) != n:
            extra = rec[n:]
            if len(rec) > n and not any(v.strip() for v in extra):
                rec = rec[:n]
            else:
                problems.append(
                    Problem(
                        "ragged_row",
                        f"{len(rec)} values but {n} column names; this row is left out "
                        "(its image has no metadata until the row is mended)",
                        file=where,
                        row=line,
                    )
                )
                continue
        fixed.append(rec)
        rownums.append(line)
    df = pd.DataFrame(fixed, columns=header, dtype=object)
    df[TABLE_COL] = table_name
    df[ROW_COL] = rownums
    return df, has_type, problems


def read_tsv(entry: Entry) -> Table:
    """Read one EcoTaxa TSV from disk or from inside zips."""
    try:
        data = entry.read()
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise UserError(f"{entry.display}: cannot read the table ({exc})") from None
    text = decode_text(data, entry.display)
    rows, has_type, problems = read_tsv_text(text, entry.display, entry.name)
    return Table(entry, rows, has_type, problems)


# --- joining rows and images ------------------------------------------------------------------
def _rank(v: str) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return 0.0  # EcoTaxa's default rank when the cell is empty


def _resolve(tsv_dir: str, img: str) -> str | None:
    img = img.strip().replace("\\", "/")
    if not img:
        return None
    if not img.startswith(("/", ".")) and "/." not in img and "//" not in img:
        return f"{tsv_dir}/{img}" if tsv_dir else img  # the common case, without normpath
    joined = (
        posixpath.normpath(posixpath.join(tsv_dir, img)) if tsv_dir else posixpath.normpath(img)
    )
    if joined.startswith("../") or joined == ".." or joined.startswith("/"):
        return "../"  # outside the source: refused by the caller
    return joined


@dataclass
class Built:
    """What ``build_scan`` found, before an instrument reader dresses it as its own Scan."""

    images: list[ImageRef]
    rows: pd.DataFrame
    set_aside: list[SetAside]
    problems: list[Problem]
    tables: list[Table]
    used: set[str]  # entry names packed or set aside because a row named them


def join_tables(tree: Tree, tsvs: list[Entry], task: Task) -> Built:
    """Read every TSV and link each row to the image it names (relative to the TSV's folder)."""
    problems: list[Problem] = []
    set_aside: list[SetAside] = []
    tables: list[Table] = []
    frames: list[pd.DataFrame] = []
    for e in tsvs:
        task.check()
        try:
            t = read_tsv(e)
        except UserError as exc:
            problems.append(Problem("bad_table", str(exc).split(": ", 1)[-1], file=e.display))
            continue
        problems.extend(t.problems)
        tables.append(t)
        frames.append(t.rows)
    rows = concat_rows(frames)
    images: list[ImageRef] = []
    used: set[str] = set()
    if rows.empty:
        return Built(images, rows, set_aside, problems, tables, used)

    img_col = col(rows, "img_file_name")
    obj_col = col(rows, "object_id")
    rank_col = col(rows, "img_rank")
    if img_col is None:
        problems.append(
            Problem(
                "missing_column",
                "no img_file_name column: rows cannot be linked to images",
                file=tables[0].entry.display,
            )
        )
        return Built(images, rows, set_aside, problems, tables, used)
    display = {t.entry.name: t.entry.display for t in tables}
    tables_col = rows[TABLE_COL].tolist()
    rownum_col = rows[ROW_COL].tolist()
    img_vals = rows[img_col].astype(str).tolist()
    obj_vals = rows[obj_col].astype(str).str.strip().tolist() if obj_col else [""] * len(rows)
    rank_vals = rows[rank_col].astype(str).tolist() if rank_col else [""] * len(rows)

    # The primary row of each object: the lowest img_rank (ranks start at 0 or at 1).
    primary: dict[tuple[str, str], int] = {}
    for pos, (tbl, oid) in enumerate(zip(tables_col, obj_vals, strict=True)):
        if not oid:
            continue
        key = (tbl, oid)
        best = primary.get(key)
        if best is None or _rank(rank_vals[pos]) < _rank(rank_vals[best]):
            primary[key] = pos

    linked: dict[str, int] = {}  # entry name -> position of the row describing it
    for pos in range(len(rows)):
        if pos % 5000 == 0:
            task.check()
        tbl, line = tables_col[pos], rownum_col[pos]
        where = display.get(tbl, tbl)
        # A problem with this row's image: the row, its img_file_name and its value.
        at = {"file": where, "row": line, "field": "image", "value": img_vals[pos]}
        target = _resolve(posixpath.dirname(tbl), img_vals[pos])
        if target is None:
            at["value"] = None
            problems.append(
                Problem("row_without_image", "img_file_name is empty", **at, severity="warning")
            )
            continue
        if target == "../":
            why = "img_file_name points outside the folder or zip of the table; refused"
            problems.append(Problem("unsafe_path", why, **at))
            continue
        entry = tree.find(target)
        if entry is None:
            why = f"the image {img_vals[pos].strip()!r} named here is not in the folder or zip"
            problems.append(Problem("row_without_image", why, **at, severity="warning"))
            continue
        oid = obj_vals[pos]
        first = primary.get((tbl, oid)) if oid else None
        if first is not None and first != pos and _rank(rank_vals[pos]) != _rank(rank_vals[first]):
            keep = _resolve(posixpath.dirname(tbl), img_vals[first]) or ""
            if entry.name != keep and entry.name not in linked:
                set_aside.append(
                    SetAside(
                        entry.display,
                        f"img_rank {rank_vals[pos].strip()} of object {oid} ({where}, row {line}): "
                        f"another view of the object (e.g. with a scale bar); rank "
                        f"{rank_vals[first].strip() or '0'} is packed",
                        kept=keep,
                    )
                )
                used.add(entry.name)
            continue
        if entry.name in linked:
            prev = linked[entry.name]
            why = (
                f"this row names {img_vals[pos].strip()!r} which row {rownum_col[prev]} already "
                f"describes; the image is packed once, with row {rownum_col[prev]}'s metadata"
            )
            problems.append(Problem("duplicate_image", why, **at, severity="warning"))
            continue
        linked[entry.name] = pos
        used.add(entry.name)
        images.append(entry.ref(row=pos))
    # An image set aside as a higher rank of one object but packed for another stays packed.
    packed = {tree.display(im.name) for im in images}
    set_aside = [s for s in set_aside if s.path not in packed]
    return Built(images, rows, set_aside, problems, tables, used)


def unnamed_images(
    tree: Tree, built: Built, *, under: Iterable[str] | None = None
) -> list[SetAside]:
    """Images no row names: EcoTaxa would not import them either, so they are set aside."""
    dirs = {posixpath.dirname(t.entry.name) for t in built.tables} if under is None else set(under)
    out = []
    for e in tree.entries.values():
        if e.suffix in IMAGE_SUFFIXES and e.name not in built.used:
            d = posixpath.dirname(e.name)
            if any(d == x or d.startswith(x + "/") or x == "" for x in dirs):
                out.append(SetAside(e.display, "no row of the EcoTaxa table names this image"))
    return out


# --- the whole export -------------------------------------------------------------------------
def build_scan(
    path: Path,
    task: Task,
    *,
    kind: str = "ecotaxa",
    tree: Tree | None = None,
    tsvs: list[Entry] | None = None,
) -> Scan:
    """Read an EcoTaxa export (folder, zip or one TSV) into a Scan; instrument readers reuse it
    (``tree``: the files they listed; ``tsvs``: the tables that are theirs) and end it with
    ``reader.finish_scan``."""
    path = Path(path)
    task.start("scan", None, unit="files", message=f"Reading {path}")
    if tree is None:
        if path.is_file() and path.suffix.lower() == ".tsv":
            # One table: its images are named relative to its folder, so list the folder.
            tree = list_tree(path.parent, task)
            tsvs = [tree.entries[path.name]] if path.name in tree.entries else []
        else:
            tree = list_tree(path, task)
    if tsvs is None:
        tsvs = sorted(tree.select(TSV_NAME), key=lambda e: e.name)
    problems = tree.listing_problems(path)
    if not tsvs and (tree.entries or tree.problems):
        problems.append(Problem("missing_table", "no ecotaxa*.tsv table in it", file=str(path)))
    task.status(f"Reading {len(tsvs)} EcoTaxa table(s) and joining their rows to the images")
    built = join_tables(tree, tsvs, task)
    problems.extend(built.problems)
    set_aside = built.set_aside + unnamed_images(tree, built)
    if tsvs and not built.images:
        problems.append(
            Problem("no_images", "none of the images the tables name was found", file=str(path))
        )
    return Scan(
        kind=kind,
        root=path,
        images=built.images,
        rows=built.rows,
        suggested=suggest(built.rows),
        problems=problems,
        set_aside=set_aside,
        label=path.stem if path.is_file() else path.name,
        sensor=sensor_of(built.rows),
    )
