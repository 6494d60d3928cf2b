"""The two Parquet files hold what the contract says: converted columns with fixed types, and
every raw value exactly as ``Mapped.raw_row`` gives it."""

from __future__ import annotations

import numpy as np
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


def test_raw_table_fast_path_with_images_without_rows_and_two_parts(tmp_path):
    """Two parts (sub-folders with tables of their own), some images without a row: the Arrow path
    puts every value on its own image and leaves the rowless ones empty, as raw_row does."""
    root = tmp_path / "src"
    for part, seed in (("day1", 3), ("day2", 4)):
        plankton_dataset(root / part, 6, seed=seed)
        table = root / part / "meta.csv"
        lines = table.read_text(encoding="utf-8").splitlines(keepends=True)
        table.write_text("".join(lines[:3] + lines[4:]), encoding="utf-8")  # image 2 loses its row
    mapped = check(Request([root / "day1", root / "day2"], maps=MAPS))
    assert len(mapped.scans) == 2
    rowless = [i for i, it in enumerate(mapped.items) if it.row is None]
    assert len(rowless) == 2
    items = list(range(len(mapped.items)))[::-1]
    uuids = [f"u{i}" for i in items]
    fast = metadata.raw_table(mapped, items, uuids)
    slow = metadata.raw_table(
        _SlowMapped(**{f: getattr(mapped, f) for f in Mapped.__dataclass_fields__}), items, uuids
    )
    assert fast.equals(slow), (fast.to_pylist()[:3], slow.to_pylist()[:3])
    got = fast.to_pylist()
    for j, i in enumerate(items):
        row = mapped.raw_row(i)
        if i in rowless:
            assert got[j]["file"] is None and got[j]["source-row"] is None
        else:
            assert got[j]["file"] == row["file"] and got[j]["source-row"] == int(row["__row__"])


def test_the_shard_index_gives_back_every_uuid_and_sha256_as_text():
    import hashlib
    import uuid

    from aqqua_packer.package.shard import ShardIndex as _Index

    idx = _Index()
    want = []
    for p in range(300):
        u = str(uuid.uuid5(uuid.NAMESPACE_URL, str(p)))
        sha = hashlib.sha256(str(p).encode()).hexdigest()
        idx.append(p * 3, u, sha)
        want.append((p * 3, u, sha))
    assert len(idx) == 300
    assert idx.positions().tolist() == [w[0] for w in want]
    assert idx.uuids().to_pylist() == [w[1] for w in want]
    assert idx.shas().to_pylist() == [w[2] for w in want]
    assert idx.sha_keys().tolist() == [int(w[2][:16], 16) for w in want]
    # 56 bytes an image, not a tuple of Python strings (~330 bytes)
    assert len(idx._pending) == 56 * 300


def test_metadata_written_in_parts_equals_metadata_written_whole(tmp_path, monkeypatch):
    """A shard's Parquet files are built PARQUET_ROWS rows at a time (flat memory whatever the
    shard size): with parts of 4 rows over two folders the package holds the same rows, in row
    groups of 4, and verifies."""
    from pkgtools import content

    from aqqua_packer.package.verify import verify_package
    from aqqua_packer.package.write import PackOptions, write_package

    root = tmp_path / "src"
    for part, seed in (("day1", 5), ("day2", 6)):
        plankton_dataset(root / part, 7, seed=seed)
    mapped = check(Request([root / "day1", root / "day2"], maps=MAPS))
    opts = PackOptions(workers=1, package_number=7)
    whole = write_package(mapped, tmp_path / "whole" / "pkg", opts)
    monkeypatch.setattr(metadata, "PARQUET_ROWS", 4)
    parts = write_package(mapped, tmp_path / "parts" / "pkg", opts)
    assert whole.images == parts.images == 14
    assert content(tmp_path / "whole" / "pkg") == content(tmp_path / "parts" / "pkg")
    import pyarrow.parquet as pq

    meta = next((tmp_path / "parts" / "pkg").glob("*-meta-*.parquet"))
    raw = next((tmp_path / "parts" / "pkg").glob("*-raw-*.parquet"))
    assert pq.ParquetFile(meta).metadata.num_row_groups == 4  # 4 + 4 + 4 + 2
    assert pq.ParquetFile(raw).metadata.num_row_groups == 4
    assert verify_package(tmp_path / "parts" / "pkg").ok


def test_the_shard_index_gives_back_parts_of_its_uuids_and_hashes():
    import hashlib
    import uuid

    from aqqua_packer.package.shard import ShardIndex as _Index

    idx = _Index()
    for p in range(10):
        idx.append(
            p, str(uuid.uuid5(uuid.NAMESPACE_URL, str(p))), hashlib.sha256(bytes([p])).hexdigest()
        )
    assert idx.uuids(3, 7).to_pylist() == idx.uuids().to_pylist()[3:7]
    assert idx.shas(8, 10).to_pylist() == idx.shas().to_pylist()[8:10]


def test_duplicate_pixels_are_counted_across_merges_and_resumes():
    """The counts behind numbered uuids of identical images: right whether the earlier copies are
    in the recent dictionary, in the merged sorted block, or were loaded from closed shards."""
    from aqqua_packer.package.shard import ShaCounts as _ShaCounts

    seen = _ShaCounts()
    seen.MERGE = 3  # merge often
    seen.add_all(np.array([5, 9, 5], dtype=np.uint64))  # from closed shards
    got = [seen.add(k) for k in (5, 1, 9, 1, 2**64 - 1, 1, 5, 2**64 - 1, 7)]
    assert got == [2, 0, 1, 1, 0, 2, 3, 1, 0]


def test_the_shard_index_on_disk_reads_committed_and_pending_records_alike(tmp_path):
    """Committed records live in a file (memory holds only the pending ones); reading across the
    two, a part at a time, gives what was appended."""
    import hashlib
    import uuid

    from aqqua_packer.package.shard import ShardIndex as _Index

    idx = _Index(tmp_path / "shard.index")
    idx._READ = 7  # read in small parts
    want = []
    for p in range(40):
        u = str(uuid.uuid5(uuid.NAMESPACE_DNS, str(p)))
        sha = hashlib.sha256(bytes([p, 1])).hexdigest()
        idx.append(p + 100, u, sha)
        want.append((p + 100, u, sha))
        if p in (9, 29):
            idx.flush()  # 30 committed, 10 pending
    assert len(idx) == 40 and (tmp_path / "shard.index").stat().st_size == 30 * 56
    assert len(idx._pending) == 10 * 56
    assert idx.positions().tolist() == [w[0] for w in want]
    assert idx.uuids(25, 35).to_pylist() == [w[1] for w in want[25:35]]
    assert idx.shas().to_pylist() == [w[2] for w in want]
    assert idx.sha_keys().tolist() == [int(w[2][:16], 16) for w in want]
    idx.discard()
    assert not (tmp_path / "shard.index").exists()


def test_parquet_stores_per_image_values_plain_or_as_deltas_without_statistics(tmp_path):
    """What each image costs in the two Parquet files (issue 17, tests/bench/bench_jpeg.py): values
    that differ on every row (uuid, pixel hash, LMDB key, source row) are written without a
    dictionary, whole numbers among them as deltas, random text (uuid, sha256) without min/max
    statistics; shared values (dates, labels, positions) keep their dictionary; ZSTD throughout.
    The columns and their types are those of the contract (image-uuid is text, the join key)."""
    import pyarrow.parquet as pq

    from aqqua_packer.package.write import PackOptions, write_package

    src = plankton_dataset(tmp_path / "src", 20, seed=8)
    mapped = check(Request([src], maps=MAPS))
    write_package(mapped, tmp_path / "pkg", PackOptions(workers=1, package_number=3))

    def chunks(kind: str) -> dict:
        path = next((tmp_path / "pkg").glob(f"*-{kind}-*.parquet"))
        md = pq.ParquetFile(path).metadata
        assert pq.read_schema(path).field("image-uuid").type == pa.string()
        rg = md.row_group(0)
        return {rg.column(i).path_in_schema: rg.column(i) for i in range(rg.num_columns)}

    meta, raw = chunks("meta"), chunks("raw")
    dictionary = {"PLAIN_DICTIONARY", "RLE_DICTIONARY"}
    for cols, name in [(meta, "image-uuid"), (meta, "image-pixels-sha256"), (raw, "image-uuid")]:
        assert not dictionary & set(cols[name].encodings), name
        assert cols[name].statistics is None, name
    for cols, name in [(meta, "image-lmdb-key"), (raw, "source-row")]:
        assert "DELTA_BINARY_PACKED" in cols[name].encodings, name
        assert not dictionary & set(cols[name].encodings), name
    for cols, name in [(meta, "image-label"), (meta, "image-datetime"), (raw, "label")]:
        assert dictionary & set(cols[name].encodings), name
        assert cols[name].statistics is not None, name
    assert {c.compression for c in [*meta.values(), *raw.values()]} == {"ZSTD"}
