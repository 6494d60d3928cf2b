"""Read a package back: what AqQua and our own tests use.

    with open_package("my-package") as pkg:
        print(len(pkg), pkg.meta.columns)
        for array, meta in pkg:          # meta = converted row + per-image blosc2 meta
            ...
        array, meta = pkg.get(uuid)

Only LMDB, blosc2 and pyarrow are needed to read a package; docs/format.md says how without us.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import lmdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ..problems import UserError
from . import frames, layout


@dataclass
class Shard:
    """One image store with its two Parquet files."""

    folder: Path
    prefix: str
    id: int

    @property
    def images_path(self) -> Path:
        return self.folder / layout.images_dir(self.prefix, self.id)

    @property
    def meta_path(self) -> Path:
        return self.folder / layout.meta_name(self.prefix, self.id)

    @property
    def raw_path(self) -> Path:
        return self.folder / layout.raw_name(self.prefix, self.id)

    def open_env(self) -> lmdb.Environment:
        # As AqQua's reader does: read-only, no lock file, the named sub-database image_data.
        return lmdb.open(
            str(self.images_path),
            readonly=True,
            lock=False,
            max_dbs=2,
            readahead=False,
            subdir=True,
        )

    def __len__(self) -> int:
        env = self.open_env()
        try:
            db = env.open_db(layout.IMAGE_DB, integerkey=True, create=False)
            with env.begin(db=db) as txn:
                return int(txn.stat(db)["entries"])
        finally:
            env.close()

    def frames(self) -> Iterator[tuple[int, bytes]]:
        """(key, stored value) in key order."""
        env = self.open_env()
        try:
            db = env.open_db(layout.IMAGE_DB, integerkey=True, create=False)
            with env.begin(db=db, buffers=False) as txn, txn.cursor() as cur:
                for k, v in cur:
                    yield struct.unpack("<Q", k)[0], v
        finally:
            env.close()

    def frame(self, key: int) -> bytes | None:
        env = self.open_env()
        try:
            db = env.open_db(layout.IMAGE_DB, integerkey=True, create=False)
            with env.begin(db=db) as txn:
                return txn.get(struct.pack("<Q", key))
        finally:
            env.close()

    def meta(self) -> pd.DataFrame:
        return pq.read_table(self.meta_path).to_pandas()

    def raw(self) -> pd.DataFrame:
        return pq.read_table(self.raw_path).to_pandas()


class Package:
    """A package folder, opened for reading."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        if not self.path.is_dir():
            raise UserError(f"{self.path}: not a folder")
        self.shards = [
            Shard(self.path, prefix, sid) for prefix, sid in layout.find_shards(self.path)
        ]
        if not self.shards and not (self.path / layout.IMAGE_SET).exists():
            raise UserError(
                f"{self.path}: not an AqQua package (no image-set.toml and no *-images-*.lmdb)"
            )

    # --- dataset level ----------------------------------------------------------------------
    @cached_property
    def image_set(self) -> dict[str, Any]:
        """The parsed image-set.toml ({} when absent)."""
        try:
            return layout.read_image_set(self.path)
        except FileNotFoundError:
            return {}

    @property
    def complete(self) -> bool:
        return (self.path / layout.MANIFEST).exists() and not (
            self.path / layout.STATE_DIR
        ).exists()

    @cached_property
    def meta(self) -> pd.DataFrame:
        """Converted metadata of every image, shard after shard in key order, plus ``shard-id``."""
        parts = []
        for s in self.shards:
            if s.meta_path.exists():
                df = s.meta()
                df["shard-id"] = s.id
                parts.append(df)
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    @cached_property
    def raw(self) -> pd.DataFrame:
        parts = [s.raw() for s in self.shards if s.raw_path.exists()]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def __len__(self) -> int:
        return sum(len(s) for s in self.shards)

    # --- images -----------------------------------------------------------------------------
    def __iter__(self) -> Iterator[tuple[np.ndarray, dict[str, Any]]]:
        """(array, meta) for every image; meta is the converted row overlaid with blosc2 meta."""
        for s in self.shards:
            rows = {}
            if s.meta_path.exists():
                for r in s.meta().to_dict("records"):
                    rows[r["image-uuid"]] = r
            for _key, value in s.frames():
                arr, b2 = frames.decode(value)
                meta = {
                    k: v
                    for k, v in rows.get(b2.get("image-uuid"), {}).items()
                    if not _is_missing(v)
                }
                meta.update(b2)
                yield arr, meta

    def arrays(self) -> Iterator[tuple[str, np.ndarray]]:
        """(image-uuid, array) for every image, without touching the Parquet files."""
        for s in self.shards:
            for _key, value in s.frames():
                arr, b2 = frames.decode(value)
                yield b2.get("image-uuid"), arr

    def get(self, uuid: str) -> tuple[np.ndarray, dict[str, Any]]:
        """One image by uuid (uses the ``image-lmdb-key`` column to go straight to it)."""
        m = self.meta
        hit = m[m["image-uuid"] == uuid]
        if hit.empty:
            raise KeyError(uuid)
        row = hit.iloc[0].to_dict()
        shard = next(s for s in self.shards if s.id == row["shard-id"])
        value = shard.frame(int(row["image-lmdb-key"]))
        if value is None:
            raise KeyError(uuid)
        arr, b2 = frames.decode(value)
        meta = {k: v for k, v in row.items() if not _is_missing(v)}
        meta.update(b2)
        return arr, meta

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc) -> None:
        pass


def _is_missing(v: Any) -> bool:
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def open_package(path: Path | str) -> Package:
    return Package(path)
