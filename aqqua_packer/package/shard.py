"""The shard being written: its LMDB environment with the resume record in the same transactions,
the index of what it holds, and the count of pixel hashes that numbers duplicate pictures.

See pack_state.py for the shard's states (open -> closing -> closed) and docs/format.md, "Resume".
"""

from __future__ import annotations

import json
import math
import struct
import uuid
from pathlib import Path

import lmdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import layout
from .pack_state import ShardRecord

INDEX_DB = b"aqqua-pack-index"
STATE_DB = b"aqqua-pack-state"
SKIP_DB = b"aqqua-pack-skipped"
AUX_DBS = (INDEX_DB, STATE_DB, SKIP_DB)  # the resume record; dropped when the shard closes


def _key(k: int) -> bytes:
    return struct.pack("<Q", k)


_PAGE = layout.LMDB_PAGE_SIZE
_NODE_MAX = ((_PAGE - 16) // 2 & -2) - 2  # LMDB's me_nodemax: larger nodes go to overflow pages


def estimate(frame_len: int) -> int:
    """Bytes one image adds to data.mdb: LMDB puts a value that does not fit a node of a page on
    whole overflow pages (docs/format.md, "Image store pages"), plus its node on a leaf page."""
    if frame_len + 16 > _NODE_MAX:
        return math.ceil((frame_len + 16) / _PAGE) * _PAGE + 32
    return frame_len + 32


class ShardIndex:
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

    @staticmethod
    def record(p: int, uid: str, sha: str) -> bytes:
        return struct.pack("<q", p) + uuid.UUID(uid).bytes + bytes.fromhex(sha)

    def append(self, p: int, uid: str, sha: str) -> None:
        self._pending += self.record(p, uid, sha)

    def append_record(self, rec: bytes) -> None:
        self._pending += rec

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


class ShaCounts:
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


def sha_keys_of_text(shas: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """The first 64 bits of hex sha256 texts, as ``ShardIndex.sha_keys`` gives them."""
    if not len(shas):
        return np.zeros(0, dtype=np.uint64)
    heads = pc.utf8_slice_codeunits(shas, 0, 16)
    return np.array([int(h, 16) for h in heads.to_pylist()], dtype=np.uint64)


def _fixed_width_strings(data: bytes, n: int, width: int) -> pa.Array:
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data))


class OpenShard:
    """The LMDB environment being filled, with its resume record in the same transactions.

    ``rec`` is the shard's record (pack_state.ShardRecord, status "open") as this process sees it;
    ``reload`` sets it back to what the last commit left.  The index and skip records are also kept
    in memory, so closing the shard never reads them back through LMDB's memory map (see
    ``layout.release_mapped``)."""

    def __init__(self, folder: Path, index: int, sid: int, first: int, map_size: int):
        self.index, self.id, self.first = index, sid, first
        self.path = folder
        layout.create_lmdb(folder)
        self.env = lmdb.open(
            str(folder), map_size=map_size, max_dbs=5, lock=False, subdir=True, readahead=False
        )
        self.images = self.env.open_db(layout.IMAGE_DB, integerkey=True)
        self.index_db = self.env.open_db(INDEX_DB, integerkey=True)
        self.state_db = self.env.open_db(STATE_DB)
        self.skip_db = self.env.open_db(SKIP_DB, integerkey=True)
        self.txn: lmdb.Transaction | None = None
        self.mapped = layout.MappedFile(folder / "data.mdb")
        self.reload()

    def _write_txn(self) -> lmdb.Transaction:
        if self.txn is None:
            self.txn = self.env.begin(write=True)
        return self.txn

    def add(self, p: int, frame: bytes, uid: str, sha: str, channels: list[str]) -> None:
        txn = self._write_txn()
        k = _key(self.rec.count)
        txn.put(k, frame, db=self.images, append=True)
        rec = ShardIndex.record(p, uid, sha)  # 56 bytes: fits a node of a 256-byte page
        txn.put(k, rec, db=self.index_db, append=True)
        self.held.append_record(rec)
        self.rec.add(p, estimate(len(frame)) + 160, channels)
        self.pending += 1
        self.pending_bytes += len(frame)
        if self.pending % 32 == 0:  # pages LMDB read through its map, between commits too
            self.mapped.release()

    def skip(self, p: int, reason: str) -> None:
        txn = self._write_txn()
        txn.put(_key(p), reason.encode("utf-8", "surrogateescape"), db=self.skip_db)
        self.rec.skip(p, reason)
        self.pending += 1

    def commit(self) -> None:
        if self.txn is None:
            return
        self.txn.put(b"state", json.dumps(self.rec.progress_json()).encode(), db=self.state_db)
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
            index = ShardIndex(self.path.parent / layout.STATE_DIR / f"{self.path.name}.index")
            with txn.cursor(db=self.index_db) as cur:
                for i, (_, v) in enumerate(cur):  # keys 0, 1, 2, ...: the order of the index
                    if len(v) == ShardIndex.REC:
                        index.append_record(bytes(v))
                    else:  # a shard begun by an earlier version: [p, uuid, sha256] as JSON
                        index.append(*json.loads(v))
                    if i % 4096 == 4095:
                        index.flush()
            index.flush()
            with txn.cursor(db=self.skip_db) as cur:
                skips = [
                    (struct.unpack("<Q", k)[0], bytes(v).decode("utf-8", "surrogateescape"))
                    for k, v in cur
                ]
        progress = json.loads(raw) if raw else None
        self.rec = ShardRecord.opened(self.index, self.id, self.first, progress, skips)
        self.held = index
        self.pending = self.pending_bytes = 0
        layout.release_mapped(self.path / "data.mdb")

    def index_records(self) -> ShardIndex:
        """p, uuid and sha256 of every image, in key order (key = position in this index)."""
        return self.held

    def drop_aux(self) -> None:
        _empty_in_parts(self.env, self.index_db, self.path / "data.mdb")
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


_DELETE_AT_ONCE = 512  # index records deleted per transaction when a shard closes


def _empty_in_parts(env: lmdb.Environment, db, data_file: Path) -> None:
    """Delete every record of ``db`` a part at a time, giving the map's pages back in between.

    With 256-byte pages the index's leaves (three records each) lie all over the file, between the
    images written in the same transactions, and each read fault maps the page cache around it
    (64 KiB on Linux): dropping a 100,000-image index at once made the process ~770 MB larger for
    the moment of the drop (77 MB for 10,000, measured)."""
    while True:
        n = 0
        with env.begin(write=True) as txn:
            cur = txn.cursor(db=db)
            if cur.first():
                while n < _DELETE_AT_ONCE and cur.delete():
                    n += 1
        layout.release_mapped(data_file)
        if n < _DELETE_AT_ONCE:
            return


def drop_aux_if_left(folder: Path, map_size: int) -> None:
    """Drop the auxiliary sub-databases of a closed shard's LMDB if a crash left them (between
    "closing" and the drop); a shard whose close got that far is not touched."""
    env = lmdb.open(str(folder), readonly=True, lock=False, max_dbs=5, subdir=True)
    try:
        with env.begin() as txn:
            if txn.get(STATE_DB) is None:
                return
    finally:
        env.close()
    env = lmdb.open(str(folder), map_size=map_size, max_dbs=5, lock=False, subdir=True)
    _empty_in_parts(env, env.open_db(INDEX_DB, integerkey=True), folder / "data.mdb")
    with env.begin(write=True) as txn:
        for name in AUX_DBS:
            db = env.open_db(name, txn=txn, integerkey=name != STATE_DB)
            txn.drop(db, delete=True)
    env.sync(True)
    env.close()
