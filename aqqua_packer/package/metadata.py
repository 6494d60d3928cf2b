"""The two Parquet files of a shard: converted metadata (iFDO columns, one fixed schema for every
package, so shards from thousands of contributors concatenate) and raw metadata (every original
value as text).  docs/format.md describes both for outside readers."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..fields import FIELDS, REQUIRED_COLUMNS
from ..mapping import Mapped
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
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
            out.append(None)
        else:
            out.append(str(v))
    return out


def converted_table(
    mapped: Mapped, items: list[int], uuids: list[str], shas: list[str], keys: list[int]
) -> pa.Table:
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
            arrays.append(pa.array(given[f.name], type=f.type))
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


def raw_table(mapped: Mapped, items: list[int], uuids: list[str]) -> pa.Table:
    """Every original value of every packed image's row, as text, with provenance.

    Built column by column while walking the rows, so a shard of 40,000 rows never exists as
    40,000 dicts at once."""
    reserved = {RAW_UUID, RAW_TABLE, RAW_ROW}
    n = len(items)
    tables: list[str | None] = [None] * n
    rownums: list[int | None] = [None] * n
    columns: dict[str, list[str | None]] = {}

    def row_number(v) -> int | None:
        try:
            return int(v)
        except (TypeError, ValueError):
            return None

    def put(k: str, j: int, v: str) -> None:
        if k == TABLE_COL:
            tables[j] = v or None
        elif k == ROW_COL:
            rownums[j] = row_number(v)
        else:
            col = columns.get(k)
            if col is None:
                col = columns[k] = [None] * n
            col[j] = v

    # Fast path, column-wise per scan (``Mapped.raw_row`` per item costs ~0.4 ms in pandas): the
    # same values as raw_row gives, which tests/package/test_pack_metadata.py checks.
    fast = type(mapped).raw_row is Mapped.raw_row
    by_scan: dict[int, list[tuple[int, int]]] = {}
    for j, i in enumerate(items):
        it = mapped.items[i]
        if not fast:
            for k, v in mapped.raw_row(i).items():
                put(k, j, v)
        elif it.row is not None:
            by_scan.setdefault(it.scan, []).append((j, it.row))
    for scan_i, pairs in by_scan.items():
        rows = mapped.scans[scan_i].rows
        sub = rows.iloc[[r for _, r in pairs]]
        for k in rows.columns:
            values = sub[k].tolist()
            for (j, _), v in zip(pairs, values, strict=True):
                put(str(k), j, "" if v is None else str(v))
    data: dict[str, pa.Array] = {
        RAW_UUID: pa.array(uuids, pa.string()),
        RAW_TABLE: pa.array(tables, pa.string()),
        RAW_ROW: pa.array(rownums, pa.int64()),
    }
    for k, values in columns.items():
        data[f"{k} (original)" if k in reserved else k] = pa.array(values, pa.string())
    return pa.table(data)


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()
