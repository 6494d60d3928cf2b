"""Read metadata tables (CSV, TSV, XLSX) as text, whatever their encoding and line ends.

Every value stays the text that was written (no number parsing here: the mapping does that and
the raw metadata keeps the text).  Rows carry ``__table__`` and ``__row__`` (1-based line number
in the file as a person counts it, header = line 1).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from ..problems import UserError
from .base import ROW_COL, TABLE_COL

TABLE_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".tab"}


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
    header = [h.strip() for h in records[0]]
    if not any(header):
        raise UserError(f"{where}: the first line has no column names")
    seen: dict[str, int] = {}
    for i, h in enumerate(header):
        if not h:
            h = f"column_{i + 1}"
        if h in seen:
            seen[h] += 1
            h = f"{h}.{seen[h]}"
        else:
            seen[h] = 0
        header[i] = h
    body = records[1:]
    first_line = 2
    if skip_type_line and body and all(v.strip().lower() in ("[t]", "[f]", "") for v in body[0]):
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
    df = pd.DataFrame(fixed, columns=header, dtype=object)
    df[TABLE_COL] = where
    df[ROW_COL] = rownums
    return df


def read_table(path: Path, *, name: str | None = None, skip_type_line: bool = False) -> pd.DataFrame:
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
    return read_text_table(decode_text(data, where), where, suffix=suffix, skip_type_line=skip_type_line)


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
