"""Read metadata tables (CSV, TSV, XLSX) as text, whatever their encoding and line ends.

Every value stays the text that was written (no number parsing here: the mapping does that and
the raw metadata keeps the text).  Rows carry ``__table__`` and ``__row__`` (1-based line number
in the file as a person counts it, header = line 1).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..problems import Problem, UserError
from .base import ROW_COL, TABLE_COL

log = logging.getLogger(__name__)

# Text columns: pandas' own string type, stored by Arrow (one buffer per column, not a Python
# object per value: 100,000 rows × 8 columns take 14 MB instead of 52); missing values are NaN.
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)
# Arrow text -> TEXT, for ``to_pandas(types_mapper=...)``
_ARROW_TEXT = {pa.string(): TEXT, pa.large_string(): TEXT}.get
# More columns than any instrument's export (IFCB features ~250, EcoTaxa ~500): a table of
# 100,000 columns took 52 s and 2 GB to read and suggest from (issue 15); refused at once instead.
MAX_COLUMNS = 5_000
TABLE_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".tab"}


def is_missing(v: object) -> bool:
    """None, NaN, pd.NA or NaT: what a table cell holds when it holds nothing."""
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)


def text_arrow(col: pd.Series) -> pa.Array:
    """A table column as Arrow text (values that are not text, e.g. from a spreadsheet, as
    ``str``); an Arrow-backed column without a copy of its values."""
    try:
        arr = pa.array(col, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        arr = None
    if arr is not None and pa.types.is_dictionary(arr.type):  # a category column (table names)
        arr = arr.cast(arr.type.value_type)
    if arr is None or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pa.array([None if is_missing(v) else str(v) for v in col.tolist()], pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(pa.large_string())


def name_keys(col: pd.Series) -> pa.Array:
    """A column of image names as join keys: trimmed, ``\\`` as ``/``, lower case (Arrow's)."""
    values = text_arrow(col)
    return pc.utf8_lower(pc.replace_substring(pc.utf8_trim_whitespace(values), "\\", "/"))


def text_series(arr: pa.Array | pa.ChunkedArray) -> pd.Series:
    """Arrow text as a pandas TEXT column: the values stay in Arrow, no Python string each."""
    return arr.to_pandas(types_mapper=_ARROW_TEXT)


_NOTES: ContextVar[list[Problem] | None] = ContextVar("table_notes", default=None)


@contextmanager
def table_problems() -> Iterator[list[Problem]]:
    """Collect the problems found while reading tables inside the ``with`` block (a file mixing
    encodings, repeated column names): the reader or ``registry.scan_paths`` adds them to the
    scan.  Problems noted in an inner block are not seen by an outer one."""
    found: list[Problem] = []
    token = _NOTES.set(found)
    try:
        yield found
    finally:
        _NOTES.reset(token)


def note(problem: Problem) -> None:
    """Record a problem for the enclosing ``table_problems`` block (once, however often a table is
    parsed); without one it is logged."""
    found = _NOTES.get()
    if found is None:
        log.warning("%s", problem)
    elif problem not in found:
        found.append(problem)


_MAX_ROW_NOTES = 50  # rows named one by one; the rest in one summary problem


def decode_text(data: bytes, where: str) -> str:
    """UTF-8 (with or without BOM) when it decodes, else cp1252, else latin-1 (never fails).

    A file that mixes encodings (a UTF-8 row and a cp1252/latin-1 row, as after pasting rows from
    another file) is decoded row by row, and the rows read as cp1252 are named in a problem."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise UserError(f"{where}: the file looks like UTF-16 but does not decode") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return _decode_lines(data, where)


def _legacy(line: bytes) -> str:
    try:
        return line.decode("cp1252")
    except UnicodeDecodeError:
        return line.decode("latin-1")


def _decode_lines(data: bytes, where: str) -> str:
    """Text that is not UTF-8 as a whole: each line as UTF-8 when it is, else as cp1252."""
    lines = data.splitlines(keepends=True)
    utf8 = 0
    legacy: list[int] = []
    out = []
    for i, line in enumerate(lines):
        if line.isascii():
            out.append(line.decode("ascii"))
            continue
        try:
            out.append(line.decode("utf-8"))
            utf8 += 1
        except UnicodeDecodeError:
            out.append(_legacy(line))
            legacy.append(i + 1)
    if not utf8:  # one legacy encoding throughout: the file is cp1252 (or latin-1)
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            return data.decode("latin-1")
    for n in legacy[:_MAX_ROW_NOTES]:
        note(
            Problem(
                "mixed_encoding",
                "this row is not UTF-8 like the rest of the file: it was read as Windows-1252"
                " (latin-1); check its accented letters",
                file=where,
                row=n,
                value=out[n - 1].rstrip("\r\n")[:80],
                severity="warning",
            )
        )
    if len(legacy) > _MAX_ROW_NOTES:
        note(
            Problem(
                "mixed_encoding",
                f"{len(legacy) - _MAX_ROW_NOTES:,} more rows (up to row {legacy[-1]}) are not UTF-8"
                " and were read as Windows-1252 (latin-1)",
                file=where,
                severity="warning",
            )
        )
    return "".join(out)


def _sniff_delimiter(first_line: str, suffix: str) -> str:
    if suffix in (".tsv", ".tab"):
        return "\t"
    counts = {d: first_line.count(d) for d in ("\t", ",", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def read_text_table(
    text: str,
    where: str,
    *,
    delimiter: str | None = None,
    suffix: str = ".csv",
    skip_type_line: bool = False,
) -> pd.DataFrame:
    """Parse delimited text into a DataFrame of strings with provenance columns."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise UserError(f"{where}: the table is empty")
    delim = delimiter or _sniff_delimiter(lines[0], suffix)
    records, starts = _records(lines, delim, where)
    header = column_names(records[0], where)
    body, body_starts = records[1:], starts[1:]
    if skip_type_line and body and _is_type_line(body[0]):
        body, body_starts = body[1:], body_starts[1:]
    n = len(header)
    fixed, rownums = [], []
    for rec, line in zip(body, body_starts, strict=True):
        if not rec or (len(rec) == 1 and not rec[0].strip()):
            continue
        if len(rec) < n:
            rec = rec + [""] * (n - len(rec))
        elif len(rec) > n:
            extra = rec[n:]
            if any(v.strip() for v in extra):
                raise UserError(f"{where}, row {line}: {len(rec)} values but {n} column names")
            rec = rec[:n]
        fixed.append(rec)
        rownums.append(line)
    del records, body
    df = pd.DataFrame(
        {h: pd.array([r[j] for r in fixed], dtype=TEXT) for j, h in enumerate(header)}
        if fixed
        else {h: pd.array([], dtype=TEXT) for h in header}
    )
    return _with_provenance(df, where, np.asarray(rownums, dtype=np.int64))


def _records(lines: list[str], delim: str, where: str) -> tuple[list[list[str]], list[int]]:
    """Parse lines into records and the line each starts on.  A quote that opens in a value and
    does not close on that line may swallow the rows after it: when it never closes, or when a
    line it swallows looks like a row of its own (has the delimiter), stop and name the row."""
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=delim)
    records: list[list[str]] = []
    starts: list[int] = []
    prev = 0
    try:
        for rec in reader:
            end = reader.line_num
            if end - prev > 1 and records:
                _check_spanning(lines, prev, end, delim, len(records[0]), where)
            records.append(rec)
            starts.append(prev + 1)
            prev = end
    except csv.Error as exc:
        raise UserError(f"{where}: cannot read the table ({exc})") from None
    return records, starts


def _check_spanning(lines: list[str], prev: int, end: int, delim: str, n: int, where: str) -> None:
    """Lines ``prev+1 .. end`` (1-based) were read as one record: refuse it if a quote swallowed
    rows (it never closes, or a line inside has the delimiters of a row of ``n`` columns)."""
    chunk = lines[prev:end]
    unclosed = sum(line.count('"') for line in chunk) % 2 == 1
    looks_like_rows = n > 1 and any(line.count(delim) >= n - 1 for line in chunk[1:])
    if not (unclosed or looks_like_rows):
        return  # a value written over several lines, inside quotes
    first = prev + 1
    while first < end and '"' not in lines[first - 1]:
        first += 1
    closes = "never closes" if unclosed else f"closes only on line {end}"
    k = end - first
    msg = (
        f'a quote (") opens in this row and {closes}, so the {k} line{"s" if k > 1 else ""}'
        f" after it (to line {end}) would be read as part of one value; close the quote on its"
        " row, or remove it"
    )
    raise UserError(
        f"{where}, row {first}: {msg}",
        problems=[Problem("unclosed_quote", msg, file=where, row=first)],
    )


def column_names(first: list[str], where: str) -> list[str]:
    """Column names from the first record: stripped, blanks named ``column_N``, repeats ``.1``."""
    if not any(h.strip() for h in first):
        raise UserError(f"{where}: the first line has no column names")
    if len(first) > MAX_COLUMNS:
        raise UserError(
            f"{where}: the table has {len(first):,} columns; metadata tables of up to"
            f" {MAX_COLUMNS:,} columns are read (one row per image, one column per value). Keep"
            " the columns you need, or turn the table if it has one column per image"
        )
    return unique_names(first, where)


def unique_names(header: list[str], where: str | None = None) -> list[str]:
    """Stripped names; a blank one is ``column_N``, the second ``x`` is ``x.1``, the third ``x.2``.

    With ``where`` (the file), a repeated name is noted as a problem saying which column keeps
    the name and what the others are called."""
    seen: dict[str, int] = {}
    first_pos: dict[str, int] = {}
    renamed: dict[str, list[tuple[int, str]]] = {}
    out = []
    for i, h in enumerate(header):
        h = h.strip() or f"column_{i + 1}"
        if h in seen:
            seen[h] += 1
            new = f"{h}.{seen[h]}"
            while new in first_pos:  # "x.1" written in the file as well
                seen[h] += 1
                new = f"{h}.{seen[h]}"
            renamed.setdefault(h, []).append((i + 1, new))
            h = new
        else:
            seen[h] = 0
        first_pos.setdefault(h, i + 1)
        out.append(h)
    if where is not None:
        for h, others in renamed.items():
            also = ", ".join(f"column {c} is called {n!r}" for c, n in others)
            note(
                Problem(
                    "duplicate_column",
                    f"{len(others) + 1} columns are named {h!r}: {h!r} is column {first_pos[h]}"
                    f" (the one a mapping of {h!r} uses); {also}. Map the one you mean"
                    f" (--map FIELD={others[0][1]}) or rename the columns",
                    file=where,
                    row=1,
                    field=h,
                    severity="warning",
                )
            )
    return out


def _is_type_line(rec: list[str]) -> bool:
    return all(v.strip().lower() in ("[t]", "[f]", "") for v in rec)


def _with_provenance(df: pd.DataFrame, where: str, rownums: np.ndarray) -> pd.DataFrame:
    # one category: a byte a row, not the table's name again in every row (16 bytes a row)
    df[TABLE_COL] = pd.Categorical.from_codes(np.zeros(len(df), dtype=np.int8), categories=[where])
    small = not len(rownums) or int(rownums.max()) < 2**31
    df[ROW_COL] = rownums.astype(np.int32) if small else rownums  # 4 bytes a row will do
    return df


def _is_utf8(buf) -> bool:
    """Is the Arrow buffer valid UTF-8?  Checked in place (``bytes.decode`` would copy the file)."""
    big = buf.size >= 2**31
    offsets = np.array([0, buf.size], dtype=np.int64 if big else np.int32)
    arr = pa.Array.from_buffers(
        pa.large_string() if big else pa.string(), 1, [None, pa.py_buffer(offsets), buf]
    )
    try:
        arr.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _read_arrow(data: bytes, where: str, suffix: str, skip_type_line: bool) -> pd.DataFrame | None:
    """The common case at C speed and without a Python string per value: a well-formed table, one
    record per line.  ``None`` (the caller then parses in Python and explains what is wrong) when
    anything is unusual: blank or short lines, values spanning lines, a parse error."""
    # Offsets into ``data`` rather than slices: a slice of bytes is a copy of the file.
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    if not _is_utf8(pa.py_buffer(data).slice(start)):
        data, start = decode_text(data, where).encode("utf-8"), 0
    end = len(data)
    while end > start and data[end - 1] in b"\r\n":
        end -= 1
    if end <= start:
        return None
    nl = b"\n" if data.find(b"\n", start, end) >= 0 else b"\r"
    first_end = data.find(nl, start, end)
    if first_end < 0:
        first_end = end
    first = data[start:first_end].decode("utf-8").rstrip("\r")
    delim = _sniff_delimiter(first, suffix)
    try:
        records = list(
            csv.reader(
                data[start : first_end + 4096].decode("utf-8", "ignore").splitlines()[:2],
                delimiter=delim,
            )
        )
    except csv.Error:
        return None
    if not records:
        return None
    header = column_names(records[0], where)
    skip = 1
    if skip_type_line and len(records) > 1 and _is_type_line(records[1]):
        skip = 2
    lines = data.count(nl, start, end) + 1
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data).slice(start, end - start),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=skip, use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=delim, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != lines - skip:  # a blank line, or a value over several lines
        return None
    df = table.to_pandas(types_mapper=_ARROW_TEXT)
    del table
    first_row = skip + 1
    return _with_provenance(df, where, np.arange(first_row, first_row + len(df), dtype=np.int64))


def read_table(
    path: Path, *, name: str | None = None, skip_type_line: bool = False
) -> pd.DataFrame:
    """Read a CSV/TSV/TXT/XLSX file from disk as text.  ``name`` is what messages call it."""
    path = Path(path)
    where = name or str(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            return _read_xlsx(path, where)
        data = path.read_bytes()
    except UserError:
        raise
    except OSError as exc:
        raise UserError(f"{where}: cannot open the table ({exc.strerror or exc})") from None
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    if not _is_utf8(pa.py_buffer(data).slice(start)):  # decoded (and its problems noted) once
        data = decode_text(data, where).encode("utf-8")
    fast = _read_arrow(data, where, suffix, skip_type_line)
    if fast is not None:
        return fast
    return read_text_table(
        decode_text(data, where), where, suffix=suffix, skip_type_line=skip_type_line
    )


def _read_xlsx(path: Path, where: str) -> pd.DataFrame:
    try:
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise UserError(f"{where}: cannot open the spreadsheet ({exc})") from None
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    wb.close()
    if not rows:
        raise UserError(f"{where}: the first sheet is empty")

    def text(v: object) -> str:
        if v is None:
            return ""
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    lines = ["\t".join(text(v).replace("\t", " ").replace("\n", " ") for v in r) for r in rows]
    return read_text_table("\n".join(lines), where, delimiter="\t", suffix=".tsv")
