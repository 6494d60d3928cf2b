"""The two Parquet files of a shard: converted metadata (iFDO columns, one fixed schema for every
package, so shards from thousands of contributors concatenate) and raw metadata (every original
value as text).  docs/format.md describes both for outside readers."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..fields import FIELDS, REQUIRED_COLUMNS
from ..mapping import Mapped
from ..mapping.apply import is_missing
from ..sources.base import ROW_COL, TABLE_COL

# Columns we add beyond fields.py: how to check pixels and find them in the image store.
PIXELS_SHA256 = "image-pixels-sha256"  # sha256 of the decoded array's bytes (C order)
LMDB_KEY = "image-lmdb-key"  # the image's key in its shard's image_data sub-database

# Raw-metadata provenance columns.
RAW_UUID, RAW_TABLE, RAW_ROW = "image-uuid", "source-table", "source-row"

_KIND_TYPE = {
    "datetime": pa.timestamp("us", tz="UTC"),
    "latitude": pa.float64(),
    "longitude": pa.float64(),
    "number": pa.float64(),
}


def converted_schema() -> pa.Schema:
    by_column = {f.column: f for f in FIELDS if f.column}
    names = list(REQUIRED_COLUMNS) + [
        f.column for f in FIELDS if f.column and f.column not in REQUIRED_COLUMNS
    ]
    fields = []
    for name in names:
        f = by_column.get(name)
        fields.append(pa.field(name, _KIND_TYPE.get(f.kind, pa.string()) if f else pa.string()))
    fields.append(pa.field(PIXELS_SHA256, pa.string()))
    fields.append(pa.field(LMDB_KEY, pa.int64()))
    return pa.schema(fields)


def _texts(values) -> list[str | None]:
    return [None if is_missing(v) else str(v) for v in values]


def converted_table(mapped: Mapped, items, uuids, shas, keys) -> pa.Table:
    """One row per packed image, in key order, with the fixed converted schema (+ any extra column
    the mapping produced, as text)."""
    schema = converted_schema()
    sub = (
        mapped.converted.iloc[items].reset_index(drop=True)
        if len(items)
        else mapped.converted.iloc[:0]
    )
    given = {"image-uuid": uuids, PIXELS_SHA256: shas, LMDB_KEY: keys}
    arrays = []
    for f in schema:
        if f.name in given:
            v = given[f.name]
            arrays.append(v.cast(f.type) if isinstance(v, pa.Array) else pa.array(v, type=f.type))
        elif f.name not in sub.columns:
            arrays.append(pa.nulls(len(items), type=f.type))
        elif pa.types.is_timestamp(f.type):
            s = pd.to_datetime(sub[f.name], utc=True, errors="coerce")
            arrays.append(pa.array(s, from_pandas=True).cast(f.type))
        elif pa.types.is_floating(f.type):
            arrays.append(
                pa.array(
                    pd.to_numeric(sub[f.name], errors="coerce").astype("float64"),
                    type=f.type,
                    from_pandas=True,
                )
            )
        else:
            arrays.append(pa.array(_texts(sub[f.name].tolist()), type=pa.string()))
    names = list(schema.names)
    for col in sub.columns:  # anything new the mapping learnt to fill, kept as text
        if col not in names:
            names.append(str(col))
            arrays.append(pa.array(_texts(sub[col].tolist()), type=pa.string()))
    return pa.Table.from_arrays(arrays, names=names)


def raw_table(mapped: Mapped, items, uuids) -> pa.Table:
    """Every original value of every packed image's row, as text, with provenance.

    Built with Arrow column by column (a ``take`` of each table column), so a shard of 400,000
    rows never exists as Python strings; a subclass that overrides ``Mapped.raw_row`` gets the
    general path (tests/package/test_pack_metadata.py checks both give the same table)."""
    items = np.asarray(items, dtype=np.int64)
    if type(mapped).raw_row is not Mapped.raw_row:
        return _raw_table_by_row(mapped, items, uuids)
    n = len(items)
    scan_of = np.empty(n, dtype=np.int64)
    row_of = np.empty(n, dtype=np.int64)
    for j, i in enumerate(items.tolist()):
        it = mapped.items[i]
        scan_of[j] = it.scan
        row_of[j] = -1 if it.row is None else it.row
    parts: list[tuple[int, np.ndarray]] = []  # (scan, item positions j), scans by first use
    for scan_i in dict.fromkeys(scan_of[row_of >= 0].tolist()):
        parts.append((scan_i, np.flatnonzero((scan_of == scan_i) & (row_of >= 0))))
    order = np.concatenate([js for _, js in parts]) if parts else np.empty(0, np.int64)
    where = np.full(n, -1, dtype=np.int64)
    where[order] = np.arange(len(order))
    to_items = pa.array(where, mask=where < 0)

    def gather(name: str, convert, typ: pa.DataType) -> pa.Array:
        chunks = []
        for scan_i, js in parts:
            rows = mapped.scans[scan_i].rows
            if name in rows.columns:
                chunks.append(convert(rows[name]).take(pa.array(row_of[js])))
            else:
                chunks.append(pa.nulls(len(js), typ))
        if not chunks:
            return pa.nulls(n, typ)
        return pa.concat_arrays([c.cast(typ) for c in chunks]).take(to_items)

    names: dict[str, None] = {}
    for scan_i, _ in parts:
        names.update(dict.fromkeys(str(k) for k in mapped.scans[scan_i].rows.columns))
    tables = gather(TABLE_COL, _texts_array, pa.string())
    return _raw(
        uuids,
        pc.if_else(pc.equal(tables, ""), pa.scalar(None, pa.string()), tables),
        gather(ROW_COL, _row_numbers, pa.int64()),
        {k: gather(k, _texts_array, pa.string()) for k in names if k not in (TABLE_COL, ROW_COL)},
    )


def _raw(uuids, tables: pa.Array, rownums: pa.Array, columns: dict[str, pa.Array]) -> pa.Table:
    """The raw-metadata table: provenance first, then the original columns (renamed where one
    is called like a provenance column)."""
    reserved = {RAW_UUID, RAW_TABLE, RAW_ROW}
    data: dict[str, pa.Array] = {
        RAW_UUID: uuids if isinstance(uuids, pa.Array) else pa.array(uuids, pa.string()),
        RAW_TABLE: tables,
        RAW_ROW: rownums,
    }
    for k, values in columns.items():
        data[f"{k} (original)" if k in reserved else k] = values
    return pa.table(data)


def _texts_array(col: pd.Series) -> pa.Array:
    """A table column as Arrow text, a missing value as "" (what ``Mapped.raw_row`` gives)."""
    if isinstance(col.dtype, pd.StringDtype):
        arr = pa.array(col, from_pandas=True)
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        return arr.cast(pa.string()).fill_null("")
    return pa.array(_texts(col.tolist()), pa.string()).fill_null("")


def _row_number(v) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def _row_numbers(col: pd.Series) -> pa.Array:
    if pd.api.types.is_integer_dtype(col.dtype):
        return pa.array(col.to_numpy(dtype=np.int64))
    return pa.array([_row_number(v) for v in col.tolist()], pa.int64())


def _raw_table_by_row(mapped: Mapped, items: np.ndarray, uuids) -> pa.Table:
    """The general path: ``mapped.raw_row`` of each item."""
    n = len(items)
    tables: list[str | None] = [None] * n
    rownums: list[int | None] = [None] * n
    columns: dict[str, list[str | None]] = {}
    for j, i in enumerate(items.tolist()):
        for k, v in mapped.raw_row(i).items():
            if k == TABLE_COL:
                tables[j] = v or None
            elif k == ROW_COL:
                rownums[j] = _row_number(v)
            else:
                col = columns.get(k)
                if col is None:
                    col = columns[k] = [None] * n
                col[j] = v
    return _raw(
        uuids,
        pa.array(tables, pa.string()),
        pa.array(rownums, pa.int64()),
        {k: pa.array(v, pa.string()) for k, v in columns.items()},
    )


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()
