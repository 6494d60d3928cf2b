"""How big a package will be, before packing it: a sample of images encoded for real.

A package stores every image as its decoded pixels, compressed losslessly (docs/format.md,
"Images"); a folder of JPEG crops therefore becomes larger than the JPEGs, and a folder of PNGs
about as large.  Guessing from the input's bytes is wrong by a factor of up to ten, so the
estimate decodes and compresses a sample with the writer's own ``encode_one``, adds what LMDB and
the two Parquet tables cost per image and per shard, and extrapolates to every image.

``estimate_package_bytes`` takes a ``Mapped`` (the images that will be packed: the ready ones, or
``positions``) or just a list of ``Scan``s (every image they found: the inventory uses that).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..mapping import Mapped
from ..progress import Task, null_task
from ..sources.base import ImageRef, Scan
from . import frames
from .worker import encode_one

DEFAULT_SAMPLE = 24
_SHARD_FIXED = 8 * 1024  # LMDB meta, root and freed pages of one shard (measured, 256-byte pages)
_PACKAGE_FIXED = 2 * 1024  # image-set.toml, manifest.sha256
_PER_IMAGE_LMDB = 80  # index records that stay in the file's free pages (shard.py, OpenShard.add)
_PARQUET_FIXED = 2 * 16 * 1024  # two Parquet files' schemas and footers, per shard
_PARQUET_PER_IMAGE = 260  # uuid + sha256 as text, numbers, the raw row (no Mapped to measure)

WHY_LARGER = (
    "Images are stored as their decoded pixels, compressed without loss, so that every value "
    "stays exactly as the instrument saw it; a folder of JPEG crops therefore becomes larger "
    "than the JPEGs (JPEG throws detail away to be small), a folder of PNGs about as large."
)


@dataclass
class Estimate:
    """What packing will write: ``package_bytes`` for ``images`` images, from ``sampled`` of them
    encoded for real (``input_bytes``: what those images take in their source)."""

    images: int
    package_bytes: int
    input_bytes: int
    sampled: int
    unreadable: int = 0  # sampled images that could not be decoded (left out of the average)

    @property
    def ratio(self) -> float | None:
        """Package bytes per input byte (> 1: the package is larger than the source)."""
        return self.package_bytes / self.input_bytes if self.input_bytes else None

    def to_dict(self) -> dict:
        return {
            "images": self.images,
            "estimated_package_bytes": self.package_bytes,
            "input_bytes": self.input_bytes,
            "sampled_images": self.sampled,
        }

    def sentence(self) -> str:
        """One plain sentence for the Pack page and the CLI."""
        from ..progress import format_bytes

        if not self.images:
            return "Nothing to pack yet."
        text = (
            f"The package will take about {format_bytes(self.package_bytes)} "
            f"for {self.images:,} images"
        )
        if self.input_bytes:
            text += f" (the images take {format_bytes(self.input_bytes)} now)"
        return text + "."


def _lmdb_bytes(frame_len: int) -> int:
    # the writer's shard-size rule: a value over ~100 bytes takes whole 256-byte overflow pages
    from .shard import estimate

    return estimate(frame_len) + _PER_IMAGE_LMDB


def _sample_positions(n: int, sample: int) -> np.ndarray:
    """Evenly spread over the list (first and last included): sizes drift along a run."""
    if n <= sample:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, sample).round().astype(np.int64))


def _metadata_per_image(
    mapped: Mapped, items: np.ndarray, frames_: list[tuple]
) -> tuple[float, int]:
    """(bytes per image, fixed bytes) of the two Parquet files, measured on the sample rows."""
    from . import metadata

    if not len(items):
        return _PARQUET_PER_IMAGE, _PARQUET_FIXED
    uuids = pa.array([f[1] for f in frames_], pa.string())
    shas = pa.array([f[0] for f in frames_], pa.string())
    keys = np.arange(len(items), dtype=np.int64)
    columns = metadata.raw_columns(mapped, items)

    def size(k: int) -> int:
        conv = metadata.converted_table(mapped, items[:k], uuids[:k], shas[:k], keys[:k])
        raw = metadata.raw_table(mapped, items[:k], uuids[:k], columns)
        return len(metadata.parquet_bytes(conv)) + len(metadata.parquet_bytes(raw))

    try:
        empty, full = size(0), size(len(items))
    except Exception:  # an odd column must not stop an estimate: use the typical figure
        return _PARQUET_PER_IMAGE, _PARQUET_FIXED
    return max(0.0, (full - empty) / len(items)), empty


def estimate_package_bytes(
    source: Mapped | Sequence[Scan],
    *,
    positions: Sequence[int] | np.ndarray | None = None,
    sample: int = DEFAULT_SAMPLE,
    shard_bytes: int | None = None,
    compression: str = frames.DEFAULT_COMPRESSION,
    task: Task | None = None,
) -> Estimate:
    """Bytes the package of ``source`` will take on disk, from ``sample`` images encoded for real.

    ``source`` is a ``Mapped`` (by default its ready images are what is packed; ``positions``
    chooses others, e.g. every item when packing with "skip incomplete" off is not possible) or a
    list of ``Scan``s (every image they hold).  Within ±25 % of the written package on the
    fixtures and the sample data (tests/package/test_estimate.py)."""
    task = task or null_task()
    mapped = source if isinstance(source, Mapped) else None
    if mapped is not None:
        if positions is None:
            positions = np.flatnonzero(np.asarray(mapped.ready, dtype=bool))
        pos = np.asarray(positions, dtype=np.int64)
        all_sizes = mapped.items.sizes()
        sizes = all_sizes[pos] if len(pos) else np.zeros(0, np.int64)

        def ref(j: int) -> ImageRef:
            return mapped.items.ref(int(pos[j]))
    else:
        scans = list(source)
        lists = [s.images for s in scans]
        counts = np.array([len(im) for im in lists], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(counts)])
        sizes = (
            np.concatenate([np.asarray(im.sizes(), dtype=np.int64) for im in lists])
            if lists
            else np.zeros(0, np.int64)
        )
        pos = np.arange(int(starts[-1]))

        def ref(j: int) -> ImageRef:
            s = int(np.searchsorted(starts, j, side="right") - 1)
            return lists[s][int(j - starts[s])]

    n = len(pos)
    if n == 0:
        return Estimate(0, 0, 0, 0)
    picks = _sample_positions(n, sample)
    task.start("estimate", len(picks), message="encoding a sample of images")
    encoded: list[tuple] = []  # (sha, uuid, frame length, input size, j)
    unreadable = 0
    for j in picks.tolist():
        task.check()
        res = encode_one(ref(j), compression)
        if res[0] == "ok":
            encoded.append((res[1], res[2], len(res[3]), int(sizes[j]), j))
        else:
            unreadable += 1
        task.advance(1)
    task.finish()
    return extrapolate(mapped, pos, sizes, encoded, len(picks), unreadable, shard_bytes)


def extrapolate(
    mapped: Mapped | None,
    pos: np.ndarray,
    sizes: np.ndarray,
    encoded: list[tuple],
    sampled: int,
    unreadable: int = 0,
    shard_bytes: int | None = None,
) -> Estimate:
    """The package's bytes from images already encoded: ``encoded`` holds (sha256, uuid, frame
    length, input size, j) for images ``pos[j]`` (the writer passes its first results, so the
    main process never encodes a sample of its own)."""
    from .write import DEFAULT_SHARD_BYTES

    n = len(pos)
    input_bytes = int(sizes[sizes > 0].sum()) if n else 0
    if not encoded:
        return Estimate(n, 0, input_bytes, sampled, unreadable)

    # Images: a ratio to the source's bytes where every sampled image knows its size (sizes
    # vary along a run, and a bigger file is a bigger image), else the sample's mean.
    lmdb = np.array([_lmdb_bytes(e[2]) for e in encoded], dtype=np.float64)
    src = np.array([e[3] for e in encoded], dtype=np.float64)
    distinct_sizes = len(np.unique(src)) > 1
    if (src > 0).all() and distinct_sizes and (sizes > 0).all() and n > len(encoded):
        image_bytes = float(sizes.sum()) * float(lmdb.sum() / src.sum())
    else:
        image_bytes = float(lmdb.mean()) * n

    if mapped is not None:
        per_row, meta_fixed = _metadata_per_image(
            mapped, pos[[e[4] for e in encoded]], [(e[0], e[1]) for e in encoded]
        )
    else:
        per_row, meta_fixed = _PARQUET_PER_IMAGE, _PARQUET_FIXED
    shards = max(1, int(np.ceil(image_bytes / (shard_bytes or DEFAULT_SHARD_BYTES))))
    total = image_bytes + per_row * n + shards * (_SHARD_FIXED + meta_fixed) + _PACKAGE_FIXED
    return Estimate(n, int(total), input_bytes, sampled, unreadable)
