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

The parts: pack_state.py (the state's records and their transitions), shard.py (the open shard),
pool.py (the worker processes), header.py (image-set.toml), ..gaps (why images are not ready).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import lmdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..gaps import gap_summary, not_ready_reason
from ..mapping import Mapped
from ..memory import release_free_memory
from ..problems import Problem, UserError
from ..progress import Task, null_task
from ..sources.base import shown
from ..sources.pixels import describe
from . import frames, layout, metadata
from .dataset import DatasetInfo, unapplied
from .estimate import extrapolate
from .header import image_set_toml
from .pack_state import BASE_ESTIMATE, FileRecord, PackState, ShardRecord, StateError
from .pool import Refs, encoded
from .pool import start_workers_early as start_workers_early  # workflow starts them early
from .shard import OpenShard, ShaCounts, drop_aux_if_left, estimate, sha_keys_of_text
from .worker import image_uuid

DEFAULT_SHARD_BYTES = 2 * 2**30


@dataclass
class PackOptions:
    workers: int = 0  # processes for decode + compress; 0 = every core
    shard_bytes: int = DEFAULT_SHARD_BYTES  # a shard closes before its image store passes this
    skip_incomplete: bool = False  # pack the ready images, list the others in skipped.csv
    compression: str = frames.DEFAULT_COMPRESSION  # a level of frames.COMPRESSION
    commit_every: int = 1024  # images per LMDB transaction (at most this much work is redone)
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
    read-only or system place); None for a full disk, which ``_disk_error`` words.  Exit code 4,
    as for every other disk that cannot take the package."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return None
    anc = out
    while not anc.exists() and anc.parent != anc:
        anc = anc.parent
    if anc.exists() and not anc.is_dir() or exc.errno == errno.ENOTDIR:
        why = f"a file is in the way: {anc} is a file, not a folder"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        why = f"you may not write in {anc}"
    elif exc.errno == errno.EROFS:
        why = f"{anc} is on a disk that is read-only"
    elif exc.errno == errno.ENOENT:
        why = f"{anc} does not allow new folders (a system folder)"
    else:
        why = f"cannot make the package folder ({exc.strerror or exc})"
    return UserError(
        f"{out}: {why}. Choose another folder for the package (in your home folder or on a data disk).",
        exit_code=4,
    )


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


# --- the writer -----------------------------------------------------------------------------------
class _Writer:
    """Packs the work list into shards, recording each step in ``state`` (pack_state.PackState)."""

    def __init__(
        self,
        mapped: Mapped,
        out: Path,
        options: PackOptions,
        dataset: DatasetInfo,
        task: Task,
        work: np.ndarray,
        not_ready: np.ndarray,
        state: PackState,
    ):
        self.mapped, self.out, self.options, self.dataset, self.task = (
            mapped,
            out,
            options,
            dataset,
            task,
        )
        self.work, self.not_ready, self.state = work, not_ready, state
        self.state_dir = out / layout.STATE_DIR
        self.state_path = self.state_dir / "state.json"
        self.map_size = max(2 * options.shard_bytes, 2**30) + 2**28

    def record(self, rec: ShardRecord) -> None:
        """A shard changed state: state.json says so before anything else happens."""
        self.state.record(rec)
        self.state.save(self.state_path)

    def names(self, sid: int) -> tuple[str, str, str]:
        prefix = self.state.prefix
        return (
            layout.images_dir(prefix, sid),
            layout.meta_name(prefix, sid),
            layout.raw_name(prefix, sid),
        )

    # shards --------------------------------------------------------------------------------
    def open_shard(self, index: int, first: int) -> OpenShard:
        sid = self.state.shard_id(index)
        return OpenShard(self.out / self.names(sid)[0], index, sid, first, self.map_size)

    def close_shard(self, shard: OpenShard) -> None:
        """Parquets from the index, then drop the auxiliary data, then hash: each step repeatable."""
        try:
            shard.commit()
            recs = shard.index_records()
            _, meta_name, raw_name = self.names(shard.id)
            files: dict[str, FileRecord] = {}
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
                    files[name] = FileRecord(digest, size)
            rec = shard.rec
            rec.begin_close(files)
            self.record(rec)
            shard.drop_aux()
        finally:
            shard.close()
        self.finish_close(rec)

    def finish_close(self, rec: ShardRecord) -> None:
        lmdb_name = self.names(rec.id)[0]
        folder = self.out / lmdb_name
        data_file = None
        if rec.count == 0:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            drop_aux_if_left(folder, self.map_size)  # crashed between "closing" and the drop
            (folder / "lock.mdb").unlink(missing_ok=True)
            mdb = folder / "data.mdb"
            data_file = (
                f"{lmdb_name}/data.mdb",
                FileRecord(layout.sha256_file(mdb), mdb.stat().st_size),
            )
        rec.finish_close(data_file)
        self.record(rec)

    # the run -------------------------------------------------------------------------------
    def run(self) -> PackResult:
        t0 = time.monotonic()
        opts, task = self.options, self.task
        for s in self.state.closing():
            self.finish_close(s)
        closed = self.state.shards
        next_index = self.state.next_index
        first = self.state.next_position
        resumed = (
            bool(closed) or (self.out / self.names(self.state.shard_id(next_index))[0]).exists()
        )

        # Duplicate pixels get a numbered uuid: count what is packed already.
        seen = ShaCounts()
        for s in self.state.packed():
            meta = self.out / self.names(s.id)[1]
            shas = pq.read_table(meta, columns=[metadata.PIXELS_SHA256]).column(0)
            seen.add_all(sha_keys_of_text(shas))

        shard: OpenShard | None = None
        packed_before = self.state.images
        try:
            if first < len(self.work):
                shard = self.open_shard(next_index, first)
                seen.add_all(shard.index_records().sha_keys())
                start = shard.rec.next
                done = packed_before + shard.rec.count
                total = len(self.work)
                items = self.mapped.items
                # bytes that will be written (the first images encoded, extrapolated), not the
                # source's bytes; the pack phase starts when they are back from the workers
                bytes_done = sum(s.bytes for s in closed)
                bytes_done += shard.rec.est - BASE_ESTIMATE  # the estimate counts the shard itself

                def begin(first_results: list[tuple[int, tuple]]) -> None:
                    rest = self.work[start:]
                    sizes = items.sizes()[rest]
                    sample = [
                        (r[1], r[2], len(r[3]), int(sizes[p - start]), p - start)
                        for p, r in first_results
                        if r[0] == "ok"
                    ]
                    est = extrapolate(self.mapped, rest, sizes, sample, len(first_results))
                    task.start(
                        "pack",
                        total,
                        done=start,
                        bytes_total=bytes_done + est.package_bytes,
                        bytes_done=bytes_done,
                        message=f"continuing after {done} images packed before" if resumed else "",
                    )

                refs = Refs(items, self.work, start)
                workers = opts.workers or os.cpu_count() or 1
                stream = encoded(refs, workers, opts.compression, task)
                for p, ref, res in _started(stream, begin, min(_FIRST_RESULTS, total - start)):
                    if res[0] == "error":
                        if not opts.skip_incomplete:
                            shard.commit()
                            n = self.state.images + shard.rec.count
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
                        if (
                            shard.rec.count
                            and shard.rec.est + estimate(len(frame)) > opts.shard_bytes
                        ):
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
                    task.advance(1, estimate(len(res[3])) + 160 if res[0] == "ok" else 0)
                closing, shard = shard, None
                self.close_shard(closing)
        except BaseException as exc:
            n = self.state.images
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
                n += shard.rec.count
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
        if not self.state.images:
            raise _nothing_packed(self.skipped_rows(), self.out)
        self.task.status("Writing image-set.toml and the checksum manifest")
        files = self.state.file_digests()
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
            images=self.state.images,
            skipped=len(skipped_rows),
            shards=[ShardInfo(s.index, s.id, s.count, s.bytes) for s in self.state.packed()],
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
            rows.append((i, ref.name, describe(ref), not_ready_reason(self.mapped, i)))
        for s in self.state.shards:
            for p, reason in s.skipped:
                i = int(self.work[p])
                ref = items.ref(i)
                rows.append((i, ref.name, describe(ref), reason))
        rows.sort()
        return [r[1:] for r in rows]


_FIRST_RESULTS = 16  # images whose frames estimate the package's size for the progress line


def _started(stream, begin, first: int):
    """``stream``'s items; ``begin`` gets the first ``first`` (p, result) pairs before any is
    passed on (the writer's size estimate comes from them, not from a sample of its own)."""
    head = []
    for item in stream:
        head.append(item)
        if len(head) >= first:
            break
    begin([(p, res) for p, _ref, res in head])
    yield from head
    yield from stream


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
        state_path = state_dir / "state.json"
        if state_path.exists():
            try:
                state = PackState.load(state_path)
            except StateError as exc:
                raise UserError(
                    f"{state_path}: {exc}. This unfinished package cannot be continued; choose a new folder for the package."
                ) from None
            if state.fingerprint != fingerprint:
                raise UserError(
                    f"{out} holds an unfinished package of other images, metadata or options. "
                    "Run the command that started it to finish it, or choose a new --out folder."
                )
        else:
            state = PackState.new(
                fingerprint,
                options.package_number or layout.new_package_number(),
                layout.slug(dataset.name or out.name),
            )
            try:
                state.save(state_path)
            except OSError as exc:
                raise (_disk_error(exc, out, 0) or exc) from None
        writer = _Writer(mapped, out, options, dataset, task, work, not_ready, state)
        try:
            return writer.run()
        except OSError as exc:
            raise (_disk_error(exc, out, 0) or exc) from None
    finally:
        lock.close()
