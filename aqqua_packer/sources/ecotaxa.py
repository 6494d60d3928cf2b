"""EcoTaxa export / import folders and zips: ``ecotaxa*.tsv`` tables plus the images they name.

EcoTaxa's TSV is the common tongue of plankton imaging: PlanktoScope, UVP5/UVP6, ZooScan, LOKI and
VPR all write it.  This module reads it faithfully and is the base the instrument readers
(``uvp6``, ``uvp5``, ``zooscan``, ``planktoscope``) build on:

* ``Tree`` lists every file below a folder or a zip, opening zips (and zips inside zips) in place:
  nothing is ever extracted, and a member whose name climbs out of its zip (``../``, ``/abs``,
  ``C:\\``) is refused with a message.
* ``read_tsv`` reads one table as text: the second line of ``[t]``/``[f]`` type markers (a missing
  one is reported), UTF-8 with BOM or else latin-1 (cp1252), CR / CRLF / LF line ends, and rows with
  too few or too many values reported by file and row and kept out.
* ``build_scan`` joins rows to images (``img_file_name`` is relative to the TSV's folder), keeps the
  lowest ``img_rank`` of each ``object_id`` and sets the other ranks aside, and suggests a mapping.
"""

from __future__ import annotations

import functools
import io
import os
import posixpath
import re
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from ..problems import Problem, UserError
from ..progress import Task
from .base import ROW_COL, TABLE_COL, Detection, ImageRef, Scan, SetAside
from .pixels import IMAGE_SUFFIXES, read_bytes
from .tables import decode_text, unique_names

KIND = "ecotaxa"
TSV_NAME = re.compile(r"^ecotaxa[^/]*\.tsv$", re.I)
TYPE_MARKERS = ("[t]", "[f]")
MAX_NESTED_ZIP_BYTES = 2_000_000_000  # a zip inside a zip is read into memory to be listed


# --- a folder or zip, listed without extracting anything --------------------------------------
@dataclass(frozen=True)
class Entry:
    """One file below the source root: a plain file or a member of (nested) zips."""

    name: str  # posix path relative to the root; a zip's members appear under the zip's name
    path: str  # the file on disk (the outermost zip for members)
    members: tuple[str, ...] = ()
    size: int = 0

    @property
    def display(self) -> str:
        """Where a person finds it: '/data/x.zip › sub/ecotaxa_x.tsv'."""
        return " › ".join([self.path, *self.members])

    @property
    def suffix(self) -> str:
        return posixpath.splitext(self.name)[1].lower()

    @property
    def basename(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    def ref(self, name: str | None = None, row: int | None = None) -> ImageRef:
        return ImageRef(
            name=name or self.name, path=self.path, members=self.members, row=row, size=self.size
        )

    def read(self) -> bytes:
        return read_bytes(ImageRef(name=self.name, path=self.path, members=self.members))


def unsafe_member_name(name: str) -> bool:
    """True when a zip member's name would land outside the folder it were extracted into."""
    n = name.replace("\\", "/")
    if n.startswith("/") or re.match(r"^[A-Za-z]:", n):
        return True
    return any(part == ".." for part in n.split("/"))


def link_pid_objects(
    prow: pd.DataFrame,
    by_stem: dict[str, Entry],
    *,
    prefix: str | None,
    display: str,
    offset: int,
    images: list[ImageRef],
    used: set[str],
    problems: list[Problem],
) -> None:
    """Link each object row of a ZooProcess ``.pid`` table to its vignette ``<prefix>_<Item>``.

    ``prefix`` is fixed for UVP5 (the profile's name); ``None`` takes each row's ``Label``
    (ZooScan: the scan's name).  A row without a vignette is a warning naming the .pid and row.
    """
    for j in range(len(prow)):
        item = str(prow.at[j, "Item"]).strip() if "Item" in prow.columns else ""
        if prefix is None:
            label = str(prow.at[j, "Label"]).strip() if "Label" in prow.columns else ""
        else:
            label = prefix
        e = by_stem.get(f"{label}_{item}".lower())
        if e is None:
            problems.append(
                Problem(
                    "row_without_image",
                    f"no vignette {label}_{item}.jpg for this object",
                    file=display,
                    row=int(prow.at[j, ROW_COL]),
                    severity="warning",
                )
            )
            continue
        images.append(e.ref(row=offset + j))
        used.add(e.name)


@dataclass
class Tree:
    """Every file below ``root`` (a folder, a zip or a single file), by posix name."""

    root: Path
    entries: dict[str, Entry] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    _lower: dict[str, str] | None = None

    def find(self, name: str) -> Entry | None:
        """The entry called ``name``; falls back to a case-insensitive match (Windows exports)."""
        e = self.entries.get(name)
        if e is not None:
            return e
        if self._lower is None:
            self._lower = {}
            for k in self.entries:
                self._lower.setdefault(k.lower(), k)
        k = self._lower.get(name.lower())
        return self.entries.get(k) if k else None

    def display(self, name: str) -> str:
        e = self.entries.get(name)
        return e.display if e else str(self.root / name)

    def select(self, pattern: re.Pattern[str]) -> list[Entry]:
        return [e for e in self.entries.values() if pattern.search(e.basename)]


def _add_zip(
    tree: Tree,
    zf: zipfile.ZipFile,
    disk_path: str,
    chain: tuple[str, ...],
    prefix: str,
    task: Task,
    depth: int = 0,
) -> None:
    where = " › ".join([disk_path, *chain])
    for info in zf.infolist():
        member = info.filename
        if info.is_dir():
            continue
        if unsafe_member_name(member):
            tree.problems.append(
                Problem(
                    "unsafe_path",
                    f"refused the zip member {member!r}: its name points outside the zip "
                    "('../' or an absolute path); it is neither read nor written anywhere",
                    file=where,
                    value=member,
                )
            )
            continue
        clean = posixpath.normpath(member.replace("\\", "/"))
        base = clean.rsplit("/", 1)[-1]
        if base.startswith(".") or clean.startswith("__MACOSX/"):
            continue
        name = f"{prefix}{clean}"
        members = (*chain, member)
        if clean.lower().endswith(".zip") and depth < 4:
            if info.file_size > MAX_NESTED_ZIP_BYTES:
                tree.problems.append(
                    Problem(
                        "bad_file",
                        f"the zip inside the zip is larger than {MAX_NESTED_ZIP_BYTES // 10**9} GB; "
                        "unpack the outer zip first",
                        file=f"{where} › {member}",
                        severity="warning",
                    )
                )
                continue
            try:
                inner = zipfile.ZipFile(io.BytesIO(zf.read(member)))
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                tree.problems.append(
                    Problem(
                        "bad_file",
                        f"cannot open the zip inside the zip ({exc})",
                        file=f"{where} › {member}",
                    )
                )
                continue
            with inner:
                _add_zip(tree, inner, disk_path, members, f"{name}/", task, depth + 1)
            continue
        tree.entries[name] = Entry(name, disk_path, members, info.file_size)
        task.advance(1)


def _open_zip(tree: Tree, path: Path, prefix: str, task: Task) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            _add_zip(tree, zf, str(path), (), prefix, task)
    except (zipfile.BadZipFile, OSError) as exc:
        tree.problems.append(Problem("bad_file", f"cannot open the zip ({exc})", file=str(path)))


def list_tree(root: Path, task: Task, *, open_zips: bool = True, skip: Iterable[str] = ()) -> Tree:
    """List every file below a folder (and inside its zips) or inside a zip; never extracts.

    ``skip`` names top-level folders not to descend into (e.g. a PlanktoScope's ``img``).
    """
    root = Path(root)
    tree = Tree(root)
    skip_set = {s.lower() for s in skip}
    if root.is_file():
        if root.suffix.lower() == ".zip":
            _open_zip(tree, root, "", task)
        else:
            st = root.stat()
            tree.root = root.parent
            tree.entries[root.name] = Entry(root.name, str(root), (), st.st_size)
        return tree
    stack: list[tuple[str, Path]] = [("", root)]
    while stack:
        rel_dir, d = stack.pop()
        try:
            with os.scandir(d) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            tree.problems.append(
                Problem(
                    "bad_file",
                    f"cannot list the folder ({exc.strerror or exc})",
                    file=str(d),
                    severity="warning",
                )
            )
            continue
        for e in items:
            if e.name.startswith("."):
                continue
            rel = rel_dir + e.name
            try:
                if e.is_dir(follow_symlinks=False):
                    if rel_dir or rel.lower() not in skip_set:
                        stack.append((f"{rel}/", Path(e.path)))
                    continue
                size = e.stat().st_size
            except OSError:
                continue
            if open_zips and e.name.lower().endswith(".zip"):
                _open_zip(tree, Path(e.path), f"{rel}/", task)
                continue
            tree.entries[rel] = Entry(rel, e.path, (), size)
            task.advance(1)
        task.check()
    return tree


# --- cheap recognition ------------------------------------------------------------------------
class Near(NamedTuple):
    """A file or folder near the top of a source folder, as ``shallow`` lists it."""

    rel: str  # posix path relative to the folder
    path: str
    is_dir: bool


def shallow(path: Path, *, max_depth: int = 4, max_deeper: int = 20000) -> list[Near]:
    """Folders and files other than images near the top of ``path``, cheaply, for the readers'
    ``detect`` (which look for tables, zips, ``.pid`` and ``metadata.json`` files, never images).

    The top level is listed whole (a folder of 100,000 images takes a few tens of milliseconds:
    names only, no ``stat``); below it at most ``max_deeper`` entries are looked at.  Images are
    counted but not kept: a listing of 100,000 of them held 17 MB, once per cached answer.  The
    answer is cached for a few seconds (and while the folder is unchanged), since every reader's
    ``detect`` asks the same question one after the other.
    """
    path = Path(path)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return []
    return _shallow(str(path), (mtime, int(time.monotonic() // 5)), max_depth, max_deeper)


def forget_listings() -> None:
    """Drop the cached listings (the registry calls this when a scan is done)."""
    _shallow.cache_clear()


@functools.lru_cache(maxsize=16)
def _shallow(path: str, when: tuple[int, int], max_depth: int, max_deeper: int) -> list[Near]:
    del when  # part of the cache key only
    out: list[Near] = []
    level = [("", path)]
    seen = 0
    for depth in range(max_depth + 1):
        nxt = []
        for rel_dir, d in level:
            try:
                with os.scandir(d) as it:
                    for e in it:
                        if depth > 0:
                            seen += 1
                            if seen > max_deeper:
                                return out
                        name = e.name
                        if name[0] == ".":
                            continue
                        dot = name.rfind(".")
                        if dot > 0 and name[dot:].lower() in IMAGE_SUFFIXES:
                            continue  # an image (a folder named "x.png" is not worth a stat)
                        try:
                            is_dir = e.is_dir(follow_symlinks=False)
                        except OSError:
                            continue
                        out.append(Near(rel_dir + name, e.path, is_dir))
                        if is_dir:
                            nxt.append((f"{rel_dir}{name}/", e.path))
            except OSError:
                continue
        level = nxt
    return out


def shallow_files(path: Path, suffixes: tuple[str, ...]) -> list[Near]:
    """The files ``shallow`` lists whose names end with one of ``suffixes`` (lower case)."""
    return [n for n in shallow(path) if not n.is_dir and n.rel.lower().endswith(suffixes)]


def find_tsvs(path: Path) -> list[Entry]:
    """``ecotaxa*.tsv`` files near the top of a folder (and in its top zips) or inside a zip.

    Cheap: see ``shallow``; a folder of 100,000 images is answered in milliseconds.
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
            _open_zip(sub, Path(n.path), f"{n.rel}/", null_task())
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


# A reader that finds its files only below the top of a folder answers with this confidence: below
# the registry's "take the whole folder" level, so a folder holding other things too is split into
# parts and each sub-folder is read by the reader that knows it.
DEEP = 0.45


def depth_of(root: Path, entry: Entry) -> int:
    """How many folders down from ``root`` the file (or the zip holding the member) lies."""
    root = Path(root)
    if root.is_file():
        return 0
    return os.path.relpath(entry.path, root).count(os.sep)


def deep_detection(name: str, what: str) -> Detection:
    return Detection(
        DEEP, f"found {what} {name} below the top of the folder; each sub-folder is read as a part"
    )


def detect(path: Path) -> Detection:
    tsvs = find_tsvs(Path(path))
    if not tsvs:
        return Detection(0.0, "no ecotaxa*.tsv table found")
    top = [t for t in tsvs if depth_of(Path(path), t) == 0]
    if not top:
        return deep_detection(tsvs[0].name, "the EcoTaxa table")
    tsvs = top
    header, line2 = peek_header(tsvs[0])
    name = tsvs[0].name
    if "img_file_name" not in [h.lower() for h in header]:
        return Detection(0.3, f"found {name} but it has no img_file_name column")
    more = f" and {len(tsvs) - 1} more" if len(tsvs) > 1 else ""
    if is_type_line(line2):
        return Detection(0.7, f"found {name}{more} with the [t]/[f] type line of an EcoTaxa table")
    return Detection(
        0.6, f"found {name}{more} (an EcoTaxa table, but without its [t]/[f] type line)"
    )


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
def col(rows: pd.DataFrame, *names: str) -> str | None:
    """The first of ``names`` that is a column with at least one value (case-insensitive)."""
    lower = {c.lower(): c for c in rows.columns}
    for n in names:
        c = lower.get(n.lower())
        if c is not None and rows[c].astype(str).str.strip().ne("").any():
            return c
    return None


def samples(rows: pd.DataFrame, column: str, k: int = 3) -> list[str]:
    """Up to ``k`` distinct non-empty values of a column, in order of appearance."""
    vals = rows[column].astype(str).str.strip()
    return [str(v) for v in pd.unique(vals[vals != ""].to_numpy(dtype=object))[:k]]


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
    if len(frames) == 1:
        rows = frames[0]
    elif frames:
        rows = pd.concat(frames, ignore_index=True, sort=False)
        data_cols = [c for c in rows.columns if c not in (TABLE_COL, ROW_COL)]
        rows[data_cols] = rows[data_cols].fillna("")
        rows = rows[[*data_cols, TABLE_COL, ROW_COL]]
    else:
        rows = pd.DataFrame()
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
        target = _resolve(posixpath.dirname(tbl), img_vals[pos])
        if target is None:
            problems.append(
                Problem(
                    "row_without_image",
                    "img_file_name is empty",
                    file=where,
                    row=line,
                    field="image",
                    severity="warning",
                )
            )
            continue
        if target == "../":
            problems.append(
                Problem(
                    "unsafe_path",
                    "img_file_name points outside the folder or zip of the table; refused",
                    file=where,
                    row=line,
                    field="image",
                    value=img_vals[pos],
                )
            )
            continue
        entry = tree.find(target)
        if entry is None:
            problems.append(
                Problem(
                    "row_without_image",
                    f"the image {img_vals[pos].strip()!r} named here is not in the folder or zip",
                    file=where,
                    row=line,
                    field="image",
                    value=img_vals[pos],
                    severity="warning",
                )
            )
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
            problems.append(
                Problem(
                    "duplicate_image",
                    f"this row names {img_vals[pos].strip()!r} which row {rownum_col[prev]} already "
                    f"describes; the image is packed once, with row {rownum_col[prev]}'s metadata",
                    file=where,
                    row=line,
                    field="image",
                    value=img_vals[pos],
                    severity="warning",
                )
            )
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


# --- the suggested mapping --------------------------------------------------------------------
_DMS_TEXT = re.compile(r"[°º]|^\s*-?\d+\s+\d")


# Fields a .pid's sample header gives for every row; when the rows come from a .pid, what the
# EcoTaxa-table suggester guessed for them from per-object columns is dropped (UVP5, ZooScan).
PID_HEADER_FIELDS = (
    "latitude",
    "longitude",
    "date",
    "time",
    "depth_min",
    "depth_max",
    "pixel_size",
    "sample_id",
)


def suggest_pid_header(
    rows: pd.DataFrame,
    f: dict[str, Any],
    *,
    latitude: str,
    longitude: str,
    confidence: float,
    lon_confidence: float | None = None,
    negate_longitude: bool = False,
) -> None:
    """What ZooProcess-style projects (ZooScan, UVP5) share: the position from the sample header
    in DD.MM where the table left it open, and no taxon label from a ``.pid``'s ``Label`` (which
    names a scan or a raw image).  ``latitude``/``longitude`` say, in words, what the header holds.
    """
    if "label" not in f and col(rows, "Label"):
        f["label"] = None  # the reader's "not in these files": the matcher offers no column either
    for name, column, reason, conf, negate in (
        ("latitude", "hdr:latitude", latitude, confidence, None),
        (
            "longitude",
            "hdr:longitude",
            longitude,
            lon_confidence or confidence,
            negate_longitude or None,
        ),
    ):
        c = col(rows, column)
        if c and name not in f:
            values = ", ".join(samples(rows, c))
            f[name] = spec(c, f"{reason}: {values}", format="ddmm", negate=negate, confidence=conf)


def spec(column: str, reason: str, confidence: float = 0.9, **kw: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"column": column}
    d.update({k: v for k, v in kw.items() if v is not None})
    d["confidence"] = confidence
    d["reason"] = reason
    return d


def _date_format(vals: list[str]) -> str | None:
    if vals and all(re.fullmatch(r"\d{8}", v) for v in vals):
        return "%Y%m%d"
    if vals and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) for v in vals):
        return "%Y-%m-%d"
    return None


def suggest(rows: pd.DataFrame) -> dict[str, Any]:
    """The mapping an EcoTaxa table implies: columns, formats and units for every field."""
    f: dict[str, Any] = {}
    if rows.empty:
        return {"fields": f}
    for field_name, names in (("latitude", ("object_lat",)), ("longitude", ("object_lon",))):
        c = col(rows, *names)
        if c:
            vals = samples(rows, c)
            fmt = "dms" if any(_DMS_TEXT.search(v) for v in vals) else None
            f[field_name] = spec(
                c,
                f"EcoTaxa's {c}: {', '.join(vals)}"
                + (" (degree-minute-second text)" if fmt else ""),
                format=fmt,
            )
    c = col(rows, "object_date")
    if c:
        vals = samples(rows, c)
        f["date"] = spec(c, f"EcoTaxa's {c}: {', '.join(vals)}", format=_date_format(vals))
    c = col(rows, "object_time")
    if c:
        f["time"] = spec(
            c,
            f"EcoTaxa's {c} (HHMMSS, HHMM or HH:MM:SS): {', '.join(samples(rows, c))}",
            format="auto",
        )
    for field_name, name in (("depth_min", "object_depth_min"), ("depth_max", "object_depth_max")):
        c = col(rows, name)
        if c:
            f[field_name] = spec(
                c, f"EcoTaxa's {c}, metres: {', '.join(samples(rows, c))}", unit="m"
            )
    px = pixel_size_suggestion(rows)
    if px:
        f["pixel_size"] = px
    vol = volume_suggestion(rows)
    if vol:
        f["volume_sampled"] = vol
    for field_name, names, conf in (
        ("object_id", ("object_id",), 0.9),
        ("label", ("object_annotation_category",), 0.8),
        ("sample_id", ("sample_id",), 0.9),
        ("station_id", ("sample_stationid", "sample_station", "sample_station_id"), 0.8),
    ):
        c = col(rows, *names)
        if c:
            f[field_name] = spec(
                c, f"EcoTaxa's {c}: {', '.join(samples(rows, c))}", confidence=conf
            )
    if "date" in f:
        f["timezone"] = {
            "constant": "UTC",
            "confidence": 0.6,
            "reason": "EcoTaxa asks for object_date and object_time in UTC; change it if your lab wrote local times",
        }
    return {"fields": f}


def sensor_of(rows: pd.DataFrame) -> str:
    c = col(rows, "acq_instrument")
    return samples(rows, c, 1)[0] if c else ""


# --- the reader -------------------------------------------------------------------------------
def build_scan(
    path: Path,
    task: Task,
    *,
    kind: str = KIND,
    tree: Tree | None = None,
    tsvs: list[Entry] | None = None,
) -> Scan:
    """Read an EcoTaxa export (folder, zip or one TSV) into a Scan; instrument readers reuse it."""
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
    problems = list(tree.problems)
    if not tree.entries and not problems:
        problems.append(
            Problem(
                "empty",
                f"the {'zip' if path.is_file() else 'folder'} is empty: no files in it",
                file=str(path),
            )
        )
    elif not tsvs:
        problems.append(Problem("missing_table", "no ecotaxa*.tsv table in it", file=str(path)))
    task.status(f"Reading {len(tsvs)} EcoTaxa table(s) and joining their rows to the images")
    built = join_tables(tree, tsvs, task)
    problems.extend(built.problems)
    set_aside = built.set_aside + unnamed_images(tree, built)
    if tsvs and not built.images:
        problems.append(
            Problem("no_images", "none of the images the tables name was found", file=str(path))
        )
    task.finish(f"{len(built.images)} images, {len(built.rows)} rows")
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


def scan(path: Path, task: Task) -> list[Scan]:
    return [build_scan(Path(path), task)]


# --- helpers for instrument readers ----------------------------------------------------------
def add_header_columns(
    rows: pd.DataFrame, values: dict[str, str], *, prefix: str = "hdr:", table: str | None = None
) -> pd.DataFrame:
    """Add header/settings values that apply to every row (of ``table``, or all) as columns.

    The raw metadata then keeps them, and the mapping can take fields from them.
    """
    if rows.empty or not values:
        return rows
    mask = rows[TABLE_COL] == table if table is not None else pd.Series(True, index=rows.index)
    new = {}
    for k, v in values.items():
        c = f"{prefix}{k}"
        if c in rows.columns:
            rows.loc[mask, c] = v
        else:
            new[c] = pd.Series("", index=rows.index, dtype=object)
            new[c][mask] = v
    if new:
        data = [c for c in rows.columns if c not in (TABLE_COL, ROW_COL)]
        rows = pd.concat([rows[data], pd.DataFrame(new), rows[[TABLE_COL, ROW_COL]]], axis=1)
    return rows


def read_ini_text(text: str, where: str) -> dict[str, dict[str, str]]:
    """An INI file as {section: {key: value}}, keys as written; tolerant of duplicates."""
    import configparser

    cp = configparser.ConfigParser(interpolation=None, strict=False, allow_no_value=True)
    cp.optionxform = str  # type: ignore[assignment, method-assign]
    try:
        cp.read_string(text, source=where)
    except configparser.Error as exc:
        raise UserError(
            f"{where}: not a readable settings file ({str(exc).splitlines()[0]})"
        ) from None
    return {s: {k: (v or "").strip() for k, v in cp.items(s)} for s in cp.sections()}


# The columns that carry a pixel size or a volume, each in its instrument's unit (own module: this
# one is long enough).  Imported last: they use col/samples/spec above.
from .ecotaxa_units import pixel_size_suggestion, volume_suggestion  # noqa: E402
