"""The two Parquet files of a shard: converted metadata (iFDO columns, one fixed schema for every
package, so shards from thousands of contributors concatenate) and raw metadata (every original
value as text).  docs/format.md describes both for outside readers."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..fields import FIELDS, REQUIRED_COLUMNS
from ..mapping import Mapped
from ..sources.base import ROW_COL, TABLE_COL
from ..sources.tables import text_arrow
from . import layout

# Columns we add beyond fields.py: how to check pixels and find them in the image store.
PIXELS_SHA256 = "image-pixels-sha256"  # sha256 of the decoded array's bytes (C order)
LMDB_KEY = "image-lmdb-key"  # the image's key in its shard's image_data sub-database
PARQUET_ROWS = 32_768  # metadata rows built and written at a time (one Parquet row group each)

# Raw-metadata provenance columns.
RAW_UUID, RAW_TABLE, RAW_ROW = "image-uuid", "source-table", "source-row"

# How both Parquet files are written (measured with tests/bench/bench_jpeg.py and 32,768-row
# groups, docs/format.md "Benchmarks").  A value that differs on every row (uuid, pixel hash,
# LMDB key, source row) gains nothing from a dictionary: it is stored plain, a whole number as
# deltas (the keys and rows count up, so ~0 bytes a row).  Min/max statistics of random text (uuid,
# sha256) prune nothing and cost ~100 bytes a column and row group.  ZSTD level 1: levels 3-9 are
# no smaller on this data and 19 is 2 % smaller at 100x the time.
PARQUET_COMPRESSION, PARQUET_LEVEL = "zstd", 1
UNIQUE_COLUMNS = frozenset({"image-uuid", PIXELS_SHA256, LMDB_KEY, RAW_ROW})
NO_STATISTICS = frozenset({"image-uuid", PIXELS_SHA256})

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


def _text_array(col: pd.Series) -> pa.Array:
    """A column as Arrow text; an Arrow-backed one (image names) without a Python string each."""
    return text_arrow(col).cast(pa.string())


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
            arrays.append(_text_array(sub[f.name]))
    names = list(schema.names)
    for col in sub.columns:  # anything new the mapping learnt to fill, kept as text
        if col not in names:
            names.append(str(col))
            arrays.append(_text_array(sub[col]))
    return pa.Table.from_arrays(arrays, names=names)


def raw_columns(mapped: Mapped, items) -> list[str]:
    """The original column names of the tables that describe ``items``, first use first."""
    items = np.asarray(items, dtype=np.int64)
    scan_of = mapped.items.scan[items]
    linked = mapped.items.row[items] >= 0
    names: dict[str, None] = {}
    for scan_i in dict.fromkeys(scan_of[linked].tolist()):
        names.update(dict.fromkeys(str(k) for k in mapped.scans[scan_i].rows.columns))
    return [k for k in names if k not in (TABLE_COL, ROW_COL)]


def raw_table(mapped: Mapped, items, uuids, columns: list[str] | None = None) -> pa.Table:
    """Every original value of every packed image's row, as text, with provenance.

    Built with Arrow column by column (a ``take`` of each table column), so a shard of 400,000
    rows never exists as Python strings; a subclass that overrides ``Mapped.raw_row`` gets the
    general path (tests/package/test_pack_metadata.py checks both give the same table).
    ``columns`` (``raw_columns`` of a whole shard) fixes the columns, so that a shard written in
    parts has one schema; by default they are those of ``items``' tables."""
    items = np.asarray(items, dtype=np.int64)
    if type(mapped).raw_row is not Mapped.raw_row:
        return _raw_table_by_row(mapped, items, uuids)
    n = len(items)
    scan_of = mapped.items.scan[items].astype(np.int64)
    row_of = mapped.items.row[items]
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
            if name in rows.columns:  # the rows wanted first, then to Arrow: no whole-column copy
                chunks.append(convert(rows[name].iloc[row_of[js]]))
            else:
                chunks.append(pa.nulls(len(js), typ))
        if not chunks:
            return pa.nulls(n, typ)
        return pa.concat_arrays([c.cast(typ) for c in chunks]).take(to_items)

    if columns is None:
        columns = raw_columns(mapped, items)
    tables = gather(TABLE_COL, _texts_array, pa.string())
    return _raw(
        uuids,
        pc.if_else(pc.equal(tables, ""), pa.scalar(None, pa.string()), tables),
        gather(ROW_COL, _row_numbers, pa.int64()),
        {k: gather(k, _texts_array, pa.string()) for k in columns},
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
    return _text_array(col).fill_null("")


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


def write_parquet(path: Path, n: int, part: Callable[[int, int], pa.Table]) -> tuple[str, int]:
    """Write a table of ``n`` rows made ``PARQUET_ROWS`` at a time (``part(start, stop)``, one row
    group each) to ``path`` atomically; return its sha256 and size.  A shard of 400,000 images
    never has its metadata in memory all at once (tens of MB as Arrow tables, then as bytes)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        writer: pq.ParquetWriter | None = None
        for a in range(0, max(n, 1), PARQUET_ROWS):
            t = part(a, min(n, a + PARQUET_ROWS))
            if writer is None:
                writer = pq.ParquetWriter(fh, t.schema, **parquet_options(t.schema))
            writer.write_table(t, row_group_size=PARQUET_ROWS)
            del t
        assert writer is not None
        writer.close()
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    layout.fsync_dir(path.parent)
    return layout.sha256_file(path), path.stat().st_size


def parquet_options(schema: pa.Schema) -> dict:
    """The ``pq.ParquetWriter`` settings of a metadata table with this schema (see UNIQUE_COLUMNS)."""
    names = schema.names
    return {
        "compression": PARQUET_COMPRESSION,
        "compression_level": PARQUET_LEVEL,
        "use_dictionary": [c for c in names if c not in UNIQUE_COLUMNS],
        "write_statistics": [c for c in names if c not in NO_STATISTICS],
        "column_encoding": {
            f.name: "DELTA_BINARY_PACKED"
            for f in schema
            if f.name in UNIQUE_COLUMNS and pa.types.is_integer(f.type)
        },
    }


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, **parquet_options(table.schema))
    return buf.getvalue()
