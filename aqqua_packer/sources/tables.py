"""Read metadata tables (CSV, TSV, XLSX) as text, whatever their encoding and line ends.

Every value stays the text that was written (no number parsing here: the mapping does that and
the raw metadata keeps the text).  Rows carry ``__table__`` and ``__row__`` (1-based line number
in the file as a person counts it, header = line 1).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..problems import UserError
from .base import ROW_COL, TABLE_COL

# Text columns: pandas' own string type, stored by Arrow (one buffer per column, not a Python
# object per value: 100,000 rows × 8 columns take 14 MB instead of 52); missing values are NaN.
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)
# Arrow text -> TEXT, for ``to_pandas(types_mapper=...)``
_ARROW_TEXT = {pa.string(): TEXT, pa.large_string(): TEXT}.get
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


def decode_text(data: bytes, where: str) -> str:
    """UTF-8 (with or without BOM) when it decodes, else cp1252, else latin-1 (never fails)."""
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
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


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
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=delim)
    try:
        records = list(reader)
    except csv.Error as exc:
        raise UserError(f"{where}: cannot read the table ({exc})") from None
    header = column_names(records[0], where)
    body = records[1:]
    first_line = 2
    if skip_type_line and body and _is_type_line(body[0]):
        body = body[1:]
        first_line = 3
    n = len(header)
    fixed, rownums = [], []
    for i, rec in enumerate(body):
        if not rec or (len(rec) == 1 and not rec[0].strip()):
            continue
        if len(rec) < n:
            rec = rec + [""] * (n - len(rec))
        elif len(rec) > n:
            extra = rec[n:]
            if any(v.strip() for v in extra):
                raise UserError(
                    f"{where}, row {first_line + i}: {len(rec)} values but {n} column names"
                )
            rec = rec[:n]
        fixed.append(rec)
        rownums.append(first_line + i)
    del records, body
    df = pd.DataFrame(
        {h: pd.array([r[j] for r in fixed], dtype=TEXT) for j, h in enumerate(header)}
        if fixed
        else {h: pd.array([], dtype=TEXT) for h in header}
    )
    return _with_provenance(df, where, np.asarray(rownums, dtype=np.int64))


def column_names(first: list[str], where: str) -> list[str]:
    """Column names from the first record: stripped, blanks named ``column_N``, repeats ``.1``."""
    if not any(h.strip() for h in first):
        raise UserError(f"{where}: the first line has no column names")
    return unique_names(first)


def unique_names(header: list[str]) -> list[str]:
    """Stripped names; a blank one is ``column_N``, the second ``x`` is ``x.1``, the third ``x.2``."""
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(header):
        h = h.strip() or f"column_{i + 1}"
        if h in seen:
            seen[h] += 1
            h = f"{h}.{seen[h]}"
        else:
            seen[h] = 0
        out.append(h)
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
