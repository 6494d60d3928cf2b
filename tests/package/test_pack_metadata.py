"""The two Parquet files hold what the contract says: converted columns with fixed types, and
every raw value exactly as ``Mapped.raw_row`` gives it."""

from __future__ import annotations

import pyarrow as pa
from pkgtools import MAPS, plankton_dataset

from aqqua_packer.mapping import Mapped
from aqqua_packer.package import metadata
from aqqua_packer.workflow import Request, check


class _SlowMapped(Mapped):
    def raw_row(self, i):  # a subclass: the writer must take the general path
        return super().raw_row(i)


def test_raw_table_fast_path_equals_raw_row_for_every_item(tmp_path):
    src = plankton_dataset(tmp_path / "src", 12, seed=2)
    mapped = check(Request([src], maps=MAPS))
    items = [5, 0, 11, 3]
    uuids = [f"u{i}" for i in items]
    fast = metadata.raw_table(mapped, items, uuids)
    slow = metadata.raw_table(
        _SlowMapped(**{f: getattr(mapped, f) for f in Mapped.__dataclass_fields__}), items, uuids
    )
    assert fast.equals(slow)
    row = mapped.raw_row(11)
    got = fast.slice(2, 1).to_pylist()[0]
    assert got["source-row"] == int(row["__row__"]) and got["source-table"] == row["__table__"]
    assert {k: v for k, v in got.items() if k in row} == {
        k: v for k, v in row.items() if k not in ("__row__", "__table__")
    }


def test_converted_schema_is_fixed_and_typed():
    schema = metadata.converted_schema()
    assert schema.names[:7] == [
        "image-uuid",
        "image-filename",
        "image-datetime",
        "image-latitude",
        "image-longitude",
        "image-altitude-meters",
        "image-pixel-size-micrometers",
    ]
    assert schema.field("image-datetime").type == pa.timestamp("us", tz="UTC")
    assert schema.field("image-pixel-size-micrometers").type == pa.float64()
    assert schema.field("image-lmdb-key").type == pa.int64()
