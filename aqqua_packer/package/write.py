"""Write (or resume) a package: decode and compress on every core, one LMDB writer, crash-safe.

How a run survives kill -9 and power loss (docs/format.md, "Resume"):

- The items to pack are a deterministic list (the ready items of ``Mapped``, in order); position
  ``p`` in it names an item across runs.  A fingerprint of that list, its metadata and the options
  is kept in ``.aqqua-pack/state.json``; a rerun on different input stops instead of mixing.
- Worker processes decode, hash, name and compress images; the main process alone writes LMDB.
  Each LMDB transaction holds a batch of images *and* the resume record (next ``p``, the shard's
  size estimate, an index of key -> (p, uuid, sha256)) in auxiliary sub-databases of the same
  environment, so a commit is all or nothing.
- A shard closes when its estimated size would pass the limit (a function of the frame sizes
  only, so shard boundaries are the same whether or not the run was interrupted).  Closing
  writes the two Parquet files from the index, records the shard in state.json as "closing",
  drops the auxiliary sub-databases, hashes data.mdb and records it as "closed".  Every step is
  idempotent, so a crash anywhere is repaired by doing the step again.
- When all shards are closed: image-set.toml, skipped.csv, then manifest.sha256 (last, atomic),
  then the state folder is removed.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import json
import math
import multiprocessing as mp
import os
import shutil
import struct
import sys
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lmdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .. import __version__
from ..mapping import Mapped
from ..mapping.apply import Items
from ..memory import release_free_memory
from ..problems import Problem, UserError
from ..progress import Task, null_task
from ..sources.base import ImageRef, shown
from ..sources.pixels import describe
from . import frames, layout, metadata
from .dataset import DatasetInfo, unapplied
from .estimate import estimate_package_bytes
from .worker import encode_one, image_uuid, serve_worker

DEFAULT_SHARD_BYTES = 2 * 2**30
_INDEX_DB = b"aqqua-pack-index"
_STATE_DB = b"aqqua-pack-state"
_SKIP_DB = b"aqqua-pack-skipped"
_BASE_ESTIMATE = 64 * 1024  # meta pages, roots, branch pages


@dataclass
class PackOptions:
    workers: int = 0  # processes for decode + compress; 0 = every core
    shard_bytes: int = DEFAULT_SHARD_BYTES  # a shard closes before its image store passes this
    skip_incomplete: bool = False  # pack the ready images, list the others in skipped.csv
    compression: str = frames.DEFAULT_COMPRESSION  # a level of frames.COMPRESSION
    commit_every: int = 256  # images per LMDB transaction (at most this much work is redone)
    commit_bytes: int = 64 * 2**20  # ... or this many bytes of frames
    package_number: int | None = None  # fixes {ID}s (tests); normally random at the first run


@dataclass
class ShardInfo:
    index: int
    id: int
    images: int
    bytes: int


@dataclass
class PackResult:
    path: Path
    images: int  # images in the package
    skipped: int  # images listed in skipped.csv
    shards: list[ShardInfo] = field(default_factory=list)
    bytes: int = 0  # bytes of every file in the package
    resumed: bool = False  # this run continued an earlier one
    already_complete: bool = False  # nothing to do: the package was complete
    seconds: float = 0.0
    skipped_file: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        d["skipped_file"] = str(self.skipped_file) if self.skipped_file else None
        return d


# --- input ------------------------------------------------------------------------------------
def gap_summary(mapped: Mapped, limit: int = 5) -> str:
    """Which required fields are missing for how many images, with a few examples."""
    from ..fields import BY_NAME
    from ..mapping.apply import REQUIRED_FIELDS

    not_ready = np.flatnonzero(~np.asarray(mapped.ready, dtype=bool))
    lines = [
        f"{len(not_ready)} of {len(mapped.items)} images lack required metadata, so nothing was packed."
    ]
    try:  # the gap report's one-paragraph view, when it is there
        from ..report import build_report

        lines.append(build_report(mapped).summary_text())
    except Exception:  # the summary below says enough on its own
        pass
    conv = mapped.converted
    for name in REQUIRED_FIELDS:
        col = BY_NAME[name].column
        if col not in conv.columns:
            continue
        missing = [int(i) for i in not_ready if pd.isna(conv[col].iat[int(i)])]
        if missing:
            ex = ", ".join(mapped.items.name(i) for i in missing[:limit])
            more = f" and {len(missing) - limit} more" if len(missing) > limit else ""
            lines.append(f"  {name}: missing or unreadable for {len(missing)} images ({ex}{more})")
    no_row = [int(i) for i in not_ready if mapped.items.row[i] < 0]
    if no_row:
        ex = ", ".join(mapped.items.name(i) for i in no_row[:limit])
        lines.append(
            f"  no table row names {len(no_row)} images ({ex}{'…' if len(no_row) > limit else ''})"
        )
    errors = [p for p in mapped.problems if p.severity == "error"]
    if errors:
        lines.append("First problems:")
        lines.extend(f"  {p}" for p in errors[:limit])
    suspicious = _suspicious_kinds(errors)
    if suspicious:
        lines.append(
            "Suspicious values that are right as written can be confirmed: "
            + " ".join(f"--accept {k}" for k in suspicious)
        )
    lines.append(
        "Fix the table or the mapping (run `aqqua-packer check` to see every gap), or pack the ready images with --skip-incomplete."
    )
    return "\n".join(lines)


def _suspicious_kinds(errors: list[Problem]) -> list[str]:
    from ..mapping.plausibility import LEVEL, SUSPICIOUS

    return list(dict.fromkeys(p.kind for p in errors if LEVEL.get(p.kind) == SUSPICIOUS))


def _not_ready_reason(mapped: Mapped, i: int) -> str:
    from ..fields import BY_NAME
    from ..mapping.apply import REQUIRED_FIELDS

    if mapped.items.row[i] < 0 and any(not s.rows.empty for s in mapped.scans):
        return "no table row names this image"
    conv = mapped.converted
    missing = [
        n
        for n in REQUIRED_FIELDS
        if BY_NAME[n].column in conv.columns and pd.isna(conv[BY_NAME[n].column].iat[i])
    ]
    return "missing or unreadable: " + ", ".join(missing) if missing else "not ready"


_FINGERPRINT_ROWS = 16_384


def _fingerprint(
    mapped: Mapped, work: np.ndarray, options: PackOptions, dataset: DatasetInfo
) -> str:
    """What the package is made of; a rerun on anything else must not continue this package."""
    h = hashlib.sha256()
    h.update(
        json.dumps(
            {
                "format": layout.FORMAT_VERSION,
                "shard_bytes": options.shard_bytes,
                "compression": options.compression,
            }
        ).encode()
    )
    items = mapped.items
    for i in work.tolist():
        ref = items.ref(i)
        h.update(
            f"{ref.name}\0{ref.path}\0{ref.members}\0{ref.page}\0{ref.box}\0{ref.raw}\0{ref.size}\n".encode(
                "utf-8",
                "surrogateescape",  # a file name that is not UTF-8 (issue 15, case 6)
            )
        )
    conv = mapped.converted
    for col in conv.columns if len(work) else ():
        h.update(str(col).encode())
        # a column at a time, 16,384 rows at a time: no text copy of the whole table at once
        # (the digest is that of the whole column's hashes, as sha256 is fed in order)
        column = conv[col]
        for a in range(0, len(work), _FINGERPRINT_ROWS):
            part = column.iloc[work[a : a + _FINGERPRINT_ROWS]].astype(str)
            h.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())
    return h.hexdigest()


# --- errors from the disk ---------------------------------------------------------------------
def _cannot_create(exc: OSError, out: Path) -> UserError | None:
    """Why the package folder cannot be made, in words (a file in the way, no permission, a
    read-only or system place); None for a full disk, which ``_disk_error`` words."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return None
    anc = out
    while not anc.exists() and anc.parent != anc:
        anc = anc.parent
    choose = "Choose another folder for the package (in your home folder or on a data disk)."
    if anc.exists() and not anc.is_dir() or exc.errno == errno.ENOTDIR:
        return UserError(f"{out}: a file is in the way: {anc} is a file, not a folder. {choose}")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return UserError(f"{out}: you may not write in {anc}. {choose}")
    if exc.errno == errno.EROFS:
        # a disk problem, as a full disk is (exit 4), not a mistyped command (2)
        return UserError(f"{out}: {anc} is on a disk that is read-only. {choose}", exit_code=4)
    if exc.errno == errno.ENOENT:
        return UserError(f"{out}: {anc} does not allow new folders (a system folder). {choose}")
    return UserError(f"{out}: cannot make the package folder ({exc.strerror or exc}). {choose}")


def _disk_error(exc: BaseException, out: Path, packed: int) -> UserError | None:
    """A clear message for a full or failing disk; None when ``exc`` is something else.

    LMDB reports a full disk as ENOSPC or, after a short write, as EIO; so any write error with
    little space left counts as "full"."""
    if not isinstance(exc, OSError | lmdb.Error):
        return None
    text = str(exc)
    if isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        why = "is read-only" if exc.errno == errno.EROFS else "is not writable for you"
        return UserError(
            f"{out}: cannot write the package there: the disk or folder {why} ({exc.strerror}). "
            f"The {packed} images packed so far are kept. Choose a folder you can write to for "
            "--out (or make this one writable), then run the command again.",
            exit_code=4,
        )
    try:
        free: int | None = shutil.disk_usage(out if out.exists() else out.parent).free
    except OSError:
        free = None
    full = (
        isinstance(exc, lmdb.MapFullError)
        or (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT))
        or "No space left" in text
        or "Disk quota" in text
        or (free is not None and free < 32 * 2**20)
    )
    if full:
        free_txt = f" ({free / 1e6:.1f} MB free)" if free is not None else ""
        return UserError(
            f"{out}: the disk is full{free_txt}. The {packed} images packed so far are kept. "
            "Free some space (or choose a folder on a larger disk for a new package), then run the same command again to continue.",
            exit_code=4,
        )
    if isinstance(exc, OSError | lmdb.Error):
        return UserError(
            f"{out}: cannot write the package ({text}). The {packed} images packed so far are kept; run the same command again to continue.",
            exit_code=4,
        )
    return None


# --- the shard being written ------------------------------------------------------------------
def _key(k: int) -> bytes:
    return struct.pack("<Q", k)


def _estimate(frame_len: int) -> int:
    """Bytes one image adds to data.mdb: LMDB puts values over ~2 KB on whole 4 KiB overflow pages."""
    if frame_len + 16 > 2000:
        return math.ceil((frame_len + 16) / 4096) * 4096 + 64
    return frame_len + 80


class _Index:
    """What a shard holds, in key order: position ``p`` in the work list, uuid and sha256 of each
    image, as 56-byte records (p little-endian int64, uuid 16 bytes, sha256 32 bytes).

    With a ``path`` the committed records live in that file (appended at each commit, rebuilt
    from LMDB's own index when the shard is reopened, so a crash between the two loses nothing)
    and memory holds only the records not yet committed: a 2 GiB shard of small vignettes holds
    400,000 images, 22 MB of records.  Without a path every record stays in memory.  Records are
    read back a part at a time, never through LMDB's memory map."""

    REC = 56
    _READ = 65_536  # records read at a time

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._pending = bytearray()  # records not yet in the file
        self._n_file = 0
        if path is not None:
            path.write_bytes(b"")

    def __len__(self) -> int:
        return self._n_file + len(self._pending) // self.REC

    def append(self, p: int, uid: str, sha: str) -> None:
        self._pending += struct.pack("<q", p) + uuid.UUID(uid).bytes + bytes.fromhex(sha)

    def flush(self) -> None:
        """The pending records are committed: move them to the file."""
        if self.path is None or not self._pending:
            return
        with open(self.path, "ab") as fh:
            fh.write(self._pending)
        self._n_file += len(self._pending) // self.REC
        self._pending.clear()

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)

    def _records(self, a: int, b: int) -> np.ndarray:
        """Records ``a`` to ``b`` as an (n, 56) uint8 array."""
        parts = []
        if a < self._n_file and self.path is not None:
            stop = min(b, self._n_file)
            with open(self.path, "rb") as fh:
                fh.seek(a * self.REC)
                parts.append(np.frombuffer(fh.read((stop - a) * self.REC), np.uint8))
        if b > self._n_file:
            lo, hi = max(a, self._n_file) - self._n_file, b - self._n_file
            parts.append(np.frombuffer(self._pending[lo * self.REC : hi * self.REC], np.uint8))
        data = (
            np.concatenate(parts)
            if len(parts) > 1
            else (parts[0] if parts else np.zeros(0, np.uint8))
        )
        return data.reshape(-1, self.REC)

    def _column(self, lo: int, hi: int, dtype: str) -> np.ndarray:
        n = len(self)
        out = []
        for a in range(0, n, self._READ):
            rec = self._records(a, min(n, a + self._READ))
            out.append(np.ascontiguousarray(rec[:, lo:hi]).view(dtype).ravel())
        return np.concatenate(out) if out else np.zeros(0, dtype)

    def positions(self) -> np.ndarray:
        return self._column(0, 8, "<i8").astype(np.int64)

    def sha_keys(self) -> np.ndarray:
        """The first 64 bits of each sha256 (how ``run`` spots identical pixels)."""
        return self._column(24, 32, ">u8")

    def uuids(self, a: int = 0, b: int | None = None) -> pa.Array:
        """The uuids of images ``a`` to ``b`` as canonical text (8-4-4-4-12), built without a
        Python string per image."""
        b = len(self) if b is None else b
        n = b - a
        raw = np.ascontiguousarray(self._records(a, b)[:, 8:24]).tobytes()
        hexed = np.frombuffer(raw.hex().encode(), dtype=np.uint8).reshape(n, 32)
        out = np.full((n, 36), ord("-"), dtype=np.uint8)
        for lo, hi, src in ((0, 8, 0), (9, 13, 8), (14, 18, 12), (19, 23, 16), (24, 36, 20)):
            out[:, lo:hi] = hexed[:, src : src + hi - lo]
        return _fixed_width_strings(out.tobytes(), n, 36)

    def shas(self, a: int = 0, b: int | None = None) -> pa.Array:
        b = len(self) if b is None else b
        raw = np.ascontiguousarray(self._records(a, b)[:, 24:56]).tobytes()
        return _fixed_width_strings(raw.hex().encode(), b - a, 64)


class _ShaCounts:
    """How many images with each pixel hash (its first 64 bits) are packed so far: a duplicate
    picture gets a numbered uuid.  Sorted numpy blocks, 8 bytes an image; a dictionary entry
    and its int object took ~90 (9 MB per 100,000 images)."""

    MERGE = 8192

    def __init__(self) -> None:
        self._sorted = np.zeros(0, dtype=np.uint64)  # every key merged so far, repeats kept
        self._recent: dict[int, int] = {}
        self._n_recent = 0

    def _merged(self, k: int) -> int:
        a = self._sorted
        if not len(a):
            return 0
        key = np.uint64(k)
        return int(np.searchsorted(a, key, "right") - np.searchsorted(a, key, "left"))

    def add(self, k: int) -> int:
        """Count one more image with key ``k``; return how many had it before."""
        before = self._merged(k) + self._recent.get(k, 0)
        self._recent[k] = self._recent.get(k, 0) + 1
        self._n_recent += 1
        if self._n_recent >= self.MERGE:
            self._merge()
        return before

    def add_all(self, keys: np.ndarray) -> None:
        self._merge(np.asarray(keys, dtype=np.uint64))

    def _merge(self, more: np.ndarray | None = None) -> None:
        parts = [self._sorted]
        if self._recent:
            parts.append(
                np.repeat(
                    np.fromiter(self._recent.keys(), np.uint64, len(self._recent)),
                    np.fromiter(self._recent.values(), np.int64, len(self._recent)),
                )
            )
        if more is not None:
            parts.append(more)
        self._sorted = np.sort(np.concatenate(parts))
        self._recent.clear()
        self._n_recent = 0


def _sha_keys_of_text(shas: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """The first 64 bits of hex sha256 texts, as ``_Index.sha_keys`` gives them."""
    if not len(shas):
        return np.zeros(0, dtype=np.uint64)
    heads = pc.utf8_slice_codeunits(shas, 0, 16)
    return np.array([int(h, 16) for h in heads.to_pylist()], dtype=np.uint64)


def _fixed_width_strings(data: bytes, n: int, width: int) -> pa.Array:
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data))


class _OpenShard:
    """The LMDB environment being filled, with its resume record in the same transactions.

    The index and skip records are also kept in memory, so closing the shard never reads them
    back through LMDB's memory map (see ``layout.release_mapped``)."""

    def __init__(self, folder: Path, index: int, sid: int, first: int, map_size: int):
        self.index, self.id, self.first = index, sid, first
        self.path = folder
        folder.mkdir(exist_ok=True)
        self.env = lmdb.open(
            str(folder), map_size=map_size, max_dbs=5, lock=False, subdir=True, readahead=False
        )
        self.images = self.env.open_db(layout.IMAGE_DB, integerkey=True)
        self.index_db = self.env.open_db(_INDEX_DB, integerkey=True)
        self.state_db = self.env.open_db(_STATE_DB)
        self.skip_db = self.env.open_db(_SKIP_DB, integerkey=True)
        self.txn: lmdb.Transaction | None = None
        self.mapped = layout.MappedFile(folder / "data.mdb")
        self.reload()

    def _write_txn(self) -> lmdb.Transaction:
        if self.txn is None:
            self.txn = self.env.begin(write=True)
        return self.txn

    def add(self, p: int, frame: bytes, uid: str, sha: str, channels: list[str]) -> None:
        txn = self._write_txn()
        k = _key(self.count)
        txn.put(k, frame, db=self.images, append=True)
        txn.put(k, json.dumps([p, uid, sha]).encode(), db=self.index_db, append=True)
        self.held.append(p, uid, sha)
        self.count += 1
        self.next = p + 1
        self.est += _estimate(len(frame)) + 160
        if channels not in self.channels:
            self.channels.append(channels)
        self.pending += 1
        self.pending_bytes += len(frame)
        if self.pending % 32 == 0:  # pages LMDB read through its map, between commits too
            self.mapped.release()

    def skip(self, p: int, reason: str) -> None:
        txn = self._write_txn()
        txn.put(_key(p), reason.encode("utf-8", "surrogateescape"), db=self.skip_db)
        self.skips.append((p, reason))
        self.next = p + 1
        self.pending += 1

    def commit(self) -> None:
        if self.txn is None:
            return
        st = {"next": self.next, "count": self.count, "est": self.est, "channels": self.channels}
        self.txn.put(b"state", json.dumps(st).encode(), db=self.state_db)
        txn, self.txn = self.txn, None
        try:
            txn.commit()
        except BaseException:
            self.reload()
            raise
        self.pending = self.pending_bytes = 0
        self.held.flush()
        layout.release_mapped(self.path / "data.mdb")

    def abort(self) -> None:
        if self.txn is not None:
            self.txn.abort()
            self.txn = None
        self.reload()

    def reload(self) -> None:
        """Back to what the disk holds (at open, and to forget uncommitted work)."""
        self.txn = None
        with self.env.begin() as txn:
            raw = txn.get(b"state", db=self.state_db)
            index = _Index(self.path.parent / layout.STATE_DIR / f"{self.path.name}.index")
            with txn.cursor(db=self.index_db) as cur:
                for i, (_, v) in enumerate(cur):  # keys 0, 1, 2, ...: the order of the index
                    index.append(*json.loads(v))
                    if i % 4096 == 4095:
                        index.flush()
            index.flush()
            with txn.cursor(db=self.skip_db) as cur:
                skips = [
                    (struct.unpack("<Q", k)[0], bytes(v).decode("utf-8", "surrogateescape"))
                    for k, v in cur
                ]
        empty = {"next": self.first, "count": 0, "est": _BASE_ESTIMATE, "channels": []}
        st = json.loads(raw) if raw else empty
        self.next, self.count, self.est = st["next"], st["count"], st["est"]
        self.channels: list[list[str]] = st["channels"]
        self.held = index
        self.skips: list[tuple[int, str]] = skips
        self.pending = self.pending_bytes = 0
        layout.release_mapped(self.path / "data.mdb")

    def index_records(self) -> _Index:
        """p, uuid and sha256 of every image, in key order (key = position in this index)."""
        return self.held

    def skipped(self) -> list[tuple[int, str]]:
        return list(self.skips)

    def drop_aux(self) -> None:
        with self.env.begin(write=True) as txn:
            for db in (self.index_db, self.state_db, self.skip_db):
                txn.drop(db, delete=True)
        self.env.sync(True)
        layout.release_mapped(self.path / "data.mdb")

    def close(self) -> None:
        if self.txn is not None:
            self.txn.abort()
            self.txn = None
        self.env.close()
        self.held.discard()  # rebuilt from LMDB if the shard is opened again


def _open_aux_free(folder: Path) -> bool:
    """True when a shard's LMDB no longer has our auxiliary sub-databases (its close got that far)."""
    env = lmdb.open(str(folder), readonly=True, lock=False, max_dbs=5, subdir=True)
    try:
        with env.begin() as txn:
            return txn.get(_STATE_DB) is None
    finally:
        env.close()


# --- the worker pool ---------------------------------------------------------------------------
def _mp_context():
    """How worker processes start.

    A forkserver where there is one (Linux, macOS): workers start from a small process that has
    imported only the worker module (numpy, blosc2; ~60 MB), so their memory does not grow with
    the scan and mapping the main process holds (forked from a process holding 100,000 images'
    rows and refs, the tree's proportional memory grew by ~200 MB).  A forkserver child imports
    the main script, though, as spawn does: a user's own script that calls ``pack`` without an
    ``if __name__ == "__main__":`` guard would run again in every worker.  So such scripts get
    fork (as before; ``_encoded`` freezes the garbage collector around it).  Spawn on Windows.
    """
    import threading

    methods = mp.get_all_start_methods()
    if (
        "fork" in methods
        and sys.platform.startswith("linux")
        and threading.active_count() == 1
        and not _main_is_guarded(sys.modules.get("__main__"))
    ):
        return mp.get_context("fork")
    if "forkserver" in methods:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["aqqua_packer.package.worker"])
        return ctx
    return mp.get_context("spawn")


def start_workers_early() -> None:
    """Start the forkserver now (where workers come from one), so that its imports (numpy, Pillow,
    blosc2: ~0.5 s) overlap the scan and the mapping instead of delaying the first image."""
    if _mp_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _main_is_guarded(main) -> bool:
    """Is importing ``__main__`` again in a child harmless?  True for ``python -m ...`` (pytest,
    ``python -m aqqua_packer``), our console script and frozen app, and an interactive session;
    unknown (so False) for any other script."""
    if main is None or getattr(sys, "frozen", False) or getattr(main, "__spec__", None):
        return True
    f = getattr(main, "__file__", None)
    return f is None or os.path.basename(f).lower().startswith("aqqua-packer")


class _Refs:
    """(p, ImageRef) for the items still to pack, without a list of them all (flat memory)."""

    def __init__(self, items: Items, work: np.ndarray, start: int):
        self.items, self.work, self.start = items, work, start

    def __len__(self) -> int:
        return len(self.work) - self.start

    def __iter__(self) -> Iterator[tuple[int, ImageRef]]:
        for p in range(self.start, len(self.work)):
            yield p, self.items.ref(self.work[p])


def _encoded(
    refs: list[tuple[int, ImageRef]], workers: int, compression: str, task: Task
) -> Iterator[tuple[int, tuple]]:
    """(p, result) for every ref, in order; decoding runs on ``workers`` processes with a bounded
    number of batches in flight (flat memory), and ``task.check()`` is called while waiting.

    A deliberately small pool: one pipe per worker, batches dealt round-robin, so results come
    back in order without a scheduler; a worker that dies shows up as a closed pipe, and stopping
    is terminating our own processes (nothing shared can hang).
    """
    if workers <= 1 or len(refs) <= 4:
        for p, ref in refs:
            task.check()
            yield p, encode_one(ref, compression)
        return

    def batches() -> Iterator[list[tuple[int, ImageRef]]]:
        batch: list[tuple[int, ImageRef]] = []
        size = 0
        for pr in refs:
            batch.append(pr)
            size += pr[1].size
            if len(batch) >= 16 or size >= 8 * 2**20:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    ctx = _mp_context()
    workers = min(workers, max(1, len(refs) // 8))
    conns, procs = [], []
    forked = ctx.get_start_method() == "fork"
    try:
        # With fork, keep the children's garbage collector off the parent's objects, or it would
        # touch (and so copy) every page of the scan and the mapping in every worker.
        if forked:
            gc.freeze()
        try:
            for _ in range(workers):
                mine, theirs = ctx.Pipe(duplex=True)
                proc = ctx.Process(
                    target=serve_worker, args=(theirs, os.getpid(), compression), daemon=True
                )
                proc.start()
                theirs.close()
                conns.append(mine)
                procs.append(proc)
        except OSError as exc:
            raise UserError(
                f"Cannot start the worker processes ({exc}). Try --workers 1."
            ) from None
        finally:
            if forked:
                gc.unfreeze()
        inflight: deque = deque()  # (worker index, batch), in submission order
        source = batches()
        turn = 0

        def fill() -> None:
            nonlocal turn
            while len(inflight) < 2 * workers:
                b = next(source, None)
                if b is None:
                    return
                try:
                    conns[turn].send([r for _, r in b])
                except OSError:
                    raise UserError(
                        "A worker process stopped unexpectedly. Run the same command again to continue (or use --workers 1)."
                    ) from None
                inflight.append((turn, b))
                turn = (turn + 1) % workers

        fill()
        while inflight:
            w, b = inflight.popleft()
            while not conns[w].poll(0.1):
                task.check()
                if not procs[w].is_alive() and not conns[w].poll(0):
                    names = "; ".join(describe(r) for _, r in b)
                    raise UserError(
                        f"A worker process died while reading one of these images: {names}. Run again; if it happens again, move that image aside."
                    )
            try:
                results = conns[w].recv()
            except (EOFError, OSError):
                names = "; ".join(describe(r) for _, r in b)
                raise UserError(
                    f"A worker process died while reading one of these images: {names}. Run again; if it happens again, move that image aside."
                ) from None
            task.check()
            fill()
            for (p, _), res in zip(b, results, strict=True):
                yield p, res
    finally:
        for c in conns:
            try:
                c.send(None)
            except (OSError, ValueError):
                pass
        for proc in procs:  # stop promptly; unfinished batches are simply redone next run
            proc.join(timeout=0.05)
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join(timeout=5)
        for c in conns:
            c.close()


# --- the writer -----------------------------------------------------------------------------------
class _Writer:
    def __init__(
        self, mapped: Mapped, out: Path, options: PackOptions, dataset: DatasetInfo, task: Task
    ):
        self.mapped, self.out, self.options, self.dataset, self.task = (
            mapped,
            out,
            options,
            dataset,
            task,
        )
        self.state_dir = out / layout.STATE_DIR
        self.state_path = self.state_dir / "state.json"
        self.map_size = max(2 * options.shard_bytes, 2**30) + 2**28

    # state.json ----------------------------------------------------------------------------
    def save_state(self) -> None:
        layout.write_atomic(self.state_path, json.dumps(self.state, indent=1).encode())

    def shard_record(self, index: int) -> dict | None:
        for s in self.state["shards"]:
            if s["index"] == index:
                return s
        return None

    def set_shard_record(self, rec: dict) -> None:
        self.state["shards"] = [s for s in self.state["shards"] if s["index"] != rec["index"]] + [
            rec
        ]
        self.state["shards"].sort(key=lambda s: s["index"])
        self.save_state()

    def names(self, sid: int) -> tuple[str, str, str]:
        prefix = self.state["prefix"]
        return (
            layout.images_dir(prefix, sid),
            layout.meta_name(prefix, sid),
            layout.raw_name(prefix, sid),
        )

    # shards --------------------------------------------------------------------------------
    def open_shard(self, index: int, first: int) -> _OpenShard:
        sid = layout.shard_id(self.state["package_number"], index)
        return _OpenShard(self.out / self.names(sid)[0], index, sid, first, self.map_size)

    def close_shard(self, shard: _OpenShard) -> None:
        """Parquets from the index, then drop the auxiliary data, then hash: each step repeatable."""
        try:
            shard.commit()
            recs = shard.index_records()
            _, meta_name, raw_name = self.names(shard.id)
            files: dict[str, list] = {}
            if len(recs):
                work_items = np.asarray(self.work, dtype=np.int64)[recs.positions()]
                columns = metadata.raw_columns(self.mapped, work_items)
                mapped = self.mapped

                # a part at a time, uuids and hashes as text included (10 MB per 100,000 images)
                def converted(a: int, b: int) -> pa.Table:
                    keys = np.arange(a, b, dtype=np.int64)
                    return metadata.converted_table(
                        mapped, work_items[a:b], recs.uuids(a, b), recs.shas(a, b), keys
                    )

                def raw(a: int, b: int) -> pa.Table:
                    return metadata.raw_table(mapped, work_items[a:b], recs.uuids(a, b), columns)

                for name, part in ((meta_name, converted), (raw_name, raw)):
                    digest, size = metadata.write_parquet(self.out / name, len(recs), part)
                    files[name] = [digest, size]
            rec = {
                "index": shard.index,
                "id": shard.id,
                "status": "closing",
                "first": shard.first,
                "next": shard.next,
                "count": shard.count,
                "skipped": shard.skipped(),
                "channels": shard.channels,
                "files": files,
            }
            self.set_shard_record(rec)
            shard.drop_aux()
        finally:
            shard.close()
        self.finish_close(rec)

    def finish_close(self, rec: dict) -> None:
        lmdb_name = self.names(rec["id"])[0]
        folder = self.out / lmdb_name
        if rec["count"] == 0:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            if not _open_aux_free(folder):  # crashed between "closing" and the drop
                env = lmdb.open(
                    str(folder), map_size=self.map_size, max_dbs=5, lock=False, subdir=True
                )
                with env.begin(write=True) as txn:
                    for name in (_INDEX_DB, _STATE_DB, _SKIP_DB):
                        db = env.open_db(name, txn=txn, integerkey=name != _STATE_DB)
                        txn.drop(db, delete=True)
                env.sync(True)
                env.close()
            (folder / "lock.mdb").unlink(missing_ok=True)
            mdb = folder / "data.mdb"
            rec["files"][f"{lmdb_name}/data.mdb"] = [layout.sha256_file(mdb), mdb.stat().st_size]
        rec["status"] = "closed"
        self.set_shard_record(rec)

    # the run -------------------------------------------------------------------------------
    def run(self) -> PackResult:
        t0 = time.monotonic()
        opts, task = self.options, self.task
        closed = [s for s in self.state["shards"] if s["status"] == "closed"]
        for s in self.state["shards"]:
            if s["status"] == "closing":
                self.finish_close(s)
        closed = self.state["shards"]
        next_index = len(closed)
        first = closed[-1]["next"] if closed else 0
        resumed = (
            bool(closed)
            or (
                self.out / self.names(layout.shard_id(self.state["package_number"], next_index))[0]
            ).exists()
        )

        # Duplicate pixels get a numbered uuid: count what is packed already.
        seen = _ShaCounts()
        for s in closed:
            meta = self.out / self.names(s["id"])[1]
            if s["count"]:
                shas = pq.read_table(meta, columns=[metadata.PIXELS_SHA256]).column(0)
                seen.add_all(_sha_keys_of_text(shas))

        shard: _OpenShard | None = None
        packed_before = sum(s["count"] for s in closed)
        try:
            if first < len(self.work):
                shard = self.open_shard(next_index, first)
                seen.add_all(shard.index_records().sha_keys())
                start = shard.next
                done = packed_before + shard.count
                total = len(self.work)
                items = self.mapped.items
                # bytes that will be written (a sample encoded for real), not the source's bytes
                bytes_done = sum(sum(sz for _, sz in s["files"].values()) for s in closed)
                bytes_done += shard.est - _BASE_ESTIMATE  # the estimate counts the shard itself
                bytes_total = (
                    bytes_done
                    + estimate_package_bytes(
                        self.mapped, positions=self.work[start:], sample=8, compression=opts.compression
                    ).package_bytes
                )
                task.start(
                    "pack",
                    total,
                    done=start,
                    bytes_total=bytes_total,
                    bytes_done=bytes_done,
                    message=f"continuing after {done} images packed before" if resumed else "",
                )
                refs = _Refs(items, self.work, start)
                workers = opts.workers or os.cpu_count() or 1
                for p, res in _encoded(refs, workers, opts.compression, task):
                    ref = items.ref(self.work[p])
                    if res[0] == "error":
                        if not opts.skip_incomplete:
                            shard.commit()
                            n = sum(s["count"] for s in self.state["shards"]) + shard.count
                            raise UserError(
                                f"{res[1]}\nThe {n} images before it are packed and kept. Replace or remove this file, "
                                "or pack without it with --skip-incomplete, then run the same command again.",
                                problems=[Problem("unreadable_image", res[1], file=ref.path)],
                            )
                        shard.skip(p, res[1])
                    else:
                        _, sha, uid, frame, channels, dtype, shape = res
                        n_before = seen.add(int(sha[:16], 16))
                        if n_before:
                            uid = image_uuid(sha, dtype, shape, n_before)
                            arr, meta = frames.decode(frame)
                            meta.pop("image-uuid", None)
                            frame = frames.encode(arr, uid, meta, opts.compression)
                        if shard.count and shard.est + _estimate(len(frame)) > opts.shard_bytes:
                            closing, shard = shard, None
                            self.close_shard(closing)
                            next_index += 1
                            shard = self.open_shard(next_index, p)
                        shard.add(p, frame, uid, sha, channels)
                    if (
                        shard.pending >= opts.commit_every
                        or shard.pending_bytes >= opts.commit_bytes
                    ):
                        shard.commit()
                    task.advance(1, _estimate(len(res[3])) + 160 if res[0] == "ok" else 0)
                closing, shard = shard, None
                self.close_shard(closing)
        except BaseException as exc:
            n = sum(s["count"] for s in self.state["shards"])
            if shard is not None:
                try:
                    if isinstance(exc, OSError | lmdb.Error):
                        shard.abort()  # the disk failed: keep what was committed
                    elif not isinstance(exc, UserError):
                        shard.commit()  # cancelled or interrupted: the finished images count
                except Exception:
                    try:
                        shard.abort()
                    except Exception:
                        pass
                n += shard.count
                try:
                    shard.close()
                except Exception:
                    pass
            err = _disk_error(exc, self.out, n)
            if err is not None:
                raise err from None
            raise
        return self.finish(t0, resumed)

    def finish(self, t0: float, resumed: bool) -> PackResult:
        shards = self.state["shards"]
        if not sum(s["count"] for s in shards):
            raise _nothing_packed(self.skipped_rows(), self.out)
        self.task.status("Writing image-set.toml and the checksum manifest")
        files: dict[str, str] = {}
        for s in shards:
            for name, (digest, _size) in s["files"].items():
                files[name] = digest
        skipped_rows = self.skipped_rows()
        skipped_file = None
        if skipped_rows:
            data = _skipped_csv(skipped_rows)
            layout.write_atomic(self.out / layout.SKIPPED, data)
            files[layout.SKIPPED] = hashlib.sha256(data).hexdigest()
            skipped_file = self.out / layout.SKIPPED
        else:
            (self.out / layout.SKIPPED).unlink(missing_ok=True)
        toml = image_set_toml(self.dataset, self.state, self.mapped, self.out).encode("utf-8")
        layout.write_atomic(self.out / layout.IMAGE_SET, toml)
        files[layout.IMAGE_SET] = hashlib.sha256(toml).hexdigest()
        layout.write_atomic(self.out / layout.MANIFEST, layout.manifest_text(files).encode("utf-8"))
        shutil.rmtree(self.state_dir, ignore_errors=True)
        layout.fsync_dir(self.out)
        result = PackResult(
            path=self.out,
            images=sum(s["count"] for s in shards),
            skipped=len(skipped_rows),
            shards=[
                ShardInfo(s["index"], s["id"], s["count"], sum(sz for _, sz in s["files"].values()))
                for s in shards
                if s["count"]
            ],
            bytes=package_bytes(self.out),
            resumed=resumed,
            seconds=time.monotonic() - t0,
            skipped_file=skipped_file,
        )
        snap = self.task.snapshot
        if snap.bytes_total:  # the last line shows the bytes written, not the estimate
            self.task.set_total(snap.total, bytes_total=result.bytes)
            self.task.advance(0, max(0, result.bytes - snap.bytes_done))
        self.task.finish(f"{result.images} images in {len(result.shards)} shards")
        return result

    def skipped_rows(self) -> list[tuple[str, str, str]]:
        rows: list[tuple[int, str, str, str]] = []
        items = self.mapped.items
        for i in self.not_ready.tolist():
            ref = items.ref(i)
            rows.append((i, ref.name, describe(ref), _not_ready_reason(self.mapped, i)))
        for s in self.state["shards"]:
            for p, reason in s["skipped"]:
                i = int(self.work[p])
                ref = items.ref(i)
                rows.append((i, ref.name, describe(ref), reason))
        rows.sort()
        return [r[1:] for r in rows]


def _nothing_packed(rows: list[tuple[str, str, str]], out: Path) -> UserError:
    """Every image was set aside: no package is made (an empty one would verify as nothing)."""
    examples = "; ".join(f"{name}: {reason}" for name, _source, reason in rows[:3])
    more = f" (and {len(rows) - 3} more)" if len(rows) > 3 else ""
    return UserError(
        f"Nothing was packed: none of the {len(rows)} images could be packed, so no package was made "
        f"in {out}. {examples}{more}. Fix or replace these images, then run the same command again.",
        problems=[Problem("nothing_packed", reason, file=source) for _n, source, reason in rows],
    )


def _skipped_csv(rows: list[tuple[str, str, str]]) -> bytes:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["image-filename", "source", "reason"])
    # bytes of file names that are not UTF-8 are written %XX (sources.base.shown)
    w.writerows([shown(c) for c in r] for r in rows)
    return buf.getvalue().encode("utf-8")


def package_bytes(folder: Path) -> int:
    total = 0
    for root, dirs, fnames in os.walk(folder):
        dirs[:] = [d for d in dirs if d != layout.STATE_DIR]
        total += sum(os.path.getsize(os.path.join(root, f)) for f in fnames)
    return total


def image_set_toml(dataset: DatasetInfo, state: dict, mapped: Mapped, folder: Path) -> str:
    """Dataset-level iFDO fields (docs/format.md, "image-set.toml")."""
    name = dataset.name or state["prefix"]
    meta: dict[str, Any] = {
        "image-set-name": name,
        "image-set-uuid": state["image_set_uuid"],
        "image-set-ifdo-version": "v2.1.0",
        "image-set-sensor": dataset.sensor or _common_sensor(mapped) or None,
        "image-set-sensor-family": dataset.sensor_family or None,
        "image-set-abstract": dataset.description or None,
        "image-set-license": dataset.licence or None,
        "image-set-copyright": dataset.institution or None,
    }
    packed = [s for s in state["shards"] if s["count"]]
    layouts = {tuple(c) for s in packed for c in s["channels"]}
    bounds: dict[str, list[float]] = {"image-latitude": [], "image-longitude": []}
    for s in packed:  # the space covered by the images packed (read back, a column at a time)
        t = pq.read_table(folder / layout.meta_name(state["prefix"], s["id"]), columns=list(bounds))
        for col in bounds:
            values = [v for v in t.column(col).to_pylist() if v is not None]
            if values:
                bounds[col] += [min(values), max(values)]
    for key, col, fn in (
        ("image-set-min-latitude-degrees", "image-latitude", min),
        ("image-set-max-latitude-degrees", "image-latitude", max),
        ("image-set-min-longitude-degrees", "image-longitude", min),
        ("image-set-max-longitude-degrees", "image-longitude", max),
    ):
        if bounds[col]:
            meta[key] = float(fn(bounds[col]))
    if dataset.contributor or dataset.email:
        meta["image-set-pi"] = {
            "name": dataset.contributor or None,
            "email": dataset.email or None,
            "institution": dataset.institution or None,
        }
    creators = [{"name": dataset.contributor}] if dataset.contributor else []
    creators += [{"name": c} for c in dataset.coauthors if c]
    if creators:
        meta["image-set-creators"] = creators
    if len(layouts) == 1 and len(next(iter(layouts))) > 1:  # one multi-channel layout for all
        meta["image-set-channel"] = [
            {"name": n, "kind": "alpha" if n == "alpha" else "color"} for n in next(iter(layouts))
        ]
    aqqua = {
        "format-version": layout.FORMAT_VERSION,
        "packer": f"aqqua-packer {__version__}",
        "package-number": state["package_number"],
        "created": state["created"],
        "completed": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "images": sum(s["count"] for s in packed),
        "shards": [s["id"] for s in packed],
        "global-interpolation-allowed": bool(dataset.global_interpolation),
        "contributor": dataset.contributor or None,
        "email": dataset.email or None,
        "institution": dataset.institution or None,
        "input-fingerprint": state["fingerprint"],
    }
    accepted = _accepted_records(mapped, dataset)
    if accepted:
        aqqua["accepted"] = accepted
    return layout.dump_toml(
        {"meta": {k: v for k, v in meta.items() if v is not None}, "aqqua": aqqua}
    )


def _accepted_records(mapped: Mapped, dataset: DatasetInfo) -> list[dict[str, Any]]:
    """The suspicious values a person confirmed (--accept, the wizard's checkboxes): what, for how
    many images, by whom and when (UTC, when the package was written)."""
    who = " ".join(
        x for x in (dataset.contributor, f"<{dataset.email}>" if dataset.email else "") if x
    )
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        {
            "kind": a.kind,
            "field": a.field,
            "images": int(a.images),
            "why": a.why,
            "accepted-by": who or "unnamed contributor",
            "accepted-at": when,
        }
        for a in getattr(mapped, "accepted", [])
    ]


def _common_sensor(mapped: Mapped) -> str:
    sensors = {getattr(s, "sensor", "") for s in mapped.scans}
    return sensors.pop() if len(sensors) == 1 else ""


# --- entry point -----------------------------------------------------------------------------------
def _lock(state_dir: Path):
    """Hold an exclusive lock on the package while writing; another packer gets a clear message."""
    fh = open(state_dir / "lock", "a+b")  # noqa: SIM115 (held for the run)
    try:
        if os.name == "posix":
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            import msvcrt

            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
    except OSError:
        fh.close()
        raise UserError(
            f"{state_dir.parent}: another aqqua-packer is writing this package right now."
        ) from None
    return fh


def write_package(
    mapped: Mapped,
    out: Path,
    options: PackOptions | None = None,
    dataset: DatasetInfo | None = None,
    task: Task | None = None,
) -> PackResult:
    """Write (or continue writing) the package for the ready items of ``mapped`` at ``out``."""
    options = options or PackOptions()
    dataset = dataset or DatasetInfo()
    task = task or null_task()
    out = Path(out).absolute()
    ready = np.asarray(mapped.ready, dtype=bool)
    if len(mapped.items) == 0:
        raise UserError("No images to pack: the sources hold no images.")
    if not ready.all() and not options.skip_incomplete:
        raise UserError(
            gap_summary(mapped), problems=[p for p in mapped.problems if p.severity == "error"]
        )
    work = np.flatnonzero(ready).astype(np.int64)  # positions of the items to pack, in order
    not_ready = np.flatnonzero(~ready).astype(np.int64)
    if not len(work):
        raise UserError(
            "None of the images has all required metadata, so there is nothing to pack.\n"
            + gap_summary(mapped)
        )
    fingerprint = _fingerprint(mapped, work, options, dataset)
    release_free_memory()  # the fingerprint's text of every image is done with

    state_dir = out / layout.STATE_DIR
    if (out / layout.MANIFEST).exists() and not state_dir.exists():
        try:
            image_set = layout.read_image_set(out)
        except (OSError, ValueError):
            image_set = {}
        if image_set.get("aqqua", {}).get("input-fingerprint") != fingerprint:
            raise UserError(
                f"{out} already holds a complete package of other images or metadata. Choose a new folder for the package."
            )
        if differ := unapplied(dataset, image_set):
            # a finished package is never rewritten: it may have been sent, and AqQua knows it by its
            # checksums; the new facts go into a new package (same images, new folder)
            raise UserError(
                f"{out} is already complete, so nothing was packed and the package was not changed: "
                f"{'; '.join(differ)} was not applied. To apply it, pack again into a new folder "
                "(--out NEW-FOLDER) and send that package instead of this one."
            )
        images = sum(pq.read_metadata(p).num_rows for p in out.glob("*-meta-*.parquet"))
        return PackResult(
            path=out,
            images=images,
            skipped=len(not_ready),
            bytes=package_bytes(out),
            already_complete=True,
        )
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file; choose a folder for the package.")
    if out.exists() and not state_dir.exists() and any(out.iterdir()):
        raise UserError(
            f"{out} is not empty and is not a package being written. Choose an empty or new folder for the package."
        )
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        err = _cannot_create(exc, out) or _disk_error(exc, out, 0)
        raise err or exc from None
    lock = _lock(state_dir)
    try:
        writer = _Writer(mapped, out, options, dataset, task)
        writer.work, writer.not_ready = work, not_ready
        state_path = state_dir / "state.json"
        if state_path.exists():
            state = json.loads(state_path.read_text(encoding="utf-8"))
            if state.get("fingerprint") != fingerprint:
                raise UserError(
                    f"{out} holds an unfinished package of other images, metadata or options. "
                    "Run the command that started it to finish it, or choose a new --out folder."
                )
            writer.state = state
        else:
            prefix = layout.slug(dataset.name or out.name)
            writer.state = {
                "format": layout.FORMAT_VERSION,
                "fingerprint": fingerprint,
                "package_number": options.package_number or layout.new_package_number(),
                "image_set_uuid": str(__import__("uuid").uuid4()),
                "prefix": prefix,
                "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "shards": [],
            }
            try:
                writer.save_state()
            except OSError as exc:
                raise (_disk_error(exc, out, 0) or exc) from None
        try:
            return writer.run()
        except OSError as exc:
            raise (_disk_error(exc, out, 0) or exc) from None
    finally:
        lock.close()
