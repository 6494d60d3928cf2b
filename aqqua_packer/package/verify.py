"""Check a package the way a receiver would: every checksum, every image decodes to the pixels
its row names, rows and keys agree, uuids are unique.  Usable before sending and after receiving."""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import blosc2
import lmdb
import pyarrow.parquet as pq

from ..fields import REQUIRED_COLUMNS
from ..problems import Problem
from ..progress import Task, null_task
from . import layout, metadata
from .read import Package


@dataclass
class VerifyResult:
    path: str
    ok: bool = True
    images: int = 0
    shards: int = 0
    files_checked: int = 0
    bytes_checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    def fail(self, kind: str, message: str, **where: Any) -> None:
        """Record a problem; ``where`` is the Problem's file, row and field."""
        self.ok = False
        self.problems.append(Problem(kind, message, **where))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["problems"] = [p.to_dict() for p in self.problems]
        return d

    def summary(self) -> str:
        if self.ok:
            return f"OK: {self.images} images; {self.files_checked} files ({self.bytes_checked / 1e6:.1f} MB) match their checksums."
        n = len(self.problems)
        lines = [f"FAILED: {n} {'problem' if n == 1 else 'problems'} in {self.path}"]
        lines += [f"  {p}" for p in self.problems[:50]]
        if len(self.problems) > 50:
            lines.append(f"  … and {len(self.problems) - 50} more (use --json for all)")
        return "\n".join(lines)


def _check_files(root: Path, res: VerifyResult, task: Task) -> None:
    try:
        listed = layout.read_manifest(root)
    except FileNotFoundError:
        res.fail(
            "incomplete",
            "no manifest.sha256: the package is not finished (run `aqqua-packer pack` again to complete it)",
            file=str(root / layout.MANIFEST),
        )
        return
    except (ValueError, UnicodeDecodeError) as exc:
        res.fail("bad_manifest", str(exc), file=str(root / layout.MANIFEST))
        return
    if (root / layout.STATE_DIR).exists():
        res.fail(
            "incomplete",
            "the package is still being written (.aqqua-pack is present)",
            file=str(root / layout.STATE_DIR),
        )
    present = set()
    for dirpath, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != layout.STATE_DIR]
        for n in names:
            rel = Path(dirpath, n).relative_to(root).as_posix()
            if rel != layout.MANIFEST:
                present.add(rel)
    total = sum((root / rel).stat().st_size for rel in listed if (root / rel).is_file())
    task.start("verify", len(listed), unit="files", bytes_total=total, message="Checking checksums")
    for rel in sorted(listed):
        task.check()
        p = root / rel
        if not p.is_file():
            res.fail("missing_file", "listed in manifest.sha256 but missing", file=rel)
            continue
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            while chunk := fh.read(4 * 2**20):
                h.update(chunk)
                task.advance(0, len(chunk))
        res.files_checked += 1
        res.bytes_checked += p.stat().st_size
        if h.hexdigest() != listed[rel]:
            res.fail(
                "checksum",
                "sha256 differs from manifest.sha256 (the file changed or was damaged in transfer)",
                file=rel,
            )
        task.advance(1)
    for rel in sorted(present - set(listed)):
        res.fail("unlisted_file", "not listed in manifest.sha256", file=rel)


def _check_shard(shard, res: VerifyResult, seen: set[str], task: Task) -> None:
    name = shard.images_path.name
    try:
        meta = pq.read_table(shard.meta_path).to_pandas()
    except Exception as exc:
        res.fail("bad_meta", f"cannot read ({exc})", file=shard.meta_path.name)
        meta = None
    try:
        raw = pq.read_table(shard.raw_path, columns=[metadata.RAW_UUID]).to_pandas()
    except Exception as exc:
        res.fail("bad_raw", f"cannot read ({exc})", file=shard.raw_path.name)
        raw = None
    rows = {}
    if meta is not None:
        for col in REQUIRED_COLUMNS:
            if col not in meta.columns:
                res.fail(
                    "missing_column",
                    f"column {col} is missing",
                    file=shard.meta_path.name,
                    field=col,
                )
            elif meta[col].isna().any():
                n = int(meta[col].isna().sum())
                res.fail(
                    "missing_value",
                    f"{n} rows have no {col}",
                    file=shard.meta_path.name,
                    field=col,
                )
        if meta["image-uuid"].duplicated().any():
            res.fail(
                "duplicate_uuid", "image-uuid repeats within the file", file=shard.meta_path.name
            )
        rows = {r["image-uuid"]: (i, r) for i, r in enumerate(meta.to_dict("records"))}
    if (
        raw is not None
        and meta is not None
        and set(raw[metadata.RAW_UUID]) != set(meta["image-uuid"])
    ):
        res.fail(
            "rows_disagree",
            "raw and converted metadata name different images",
            file=shard.raw_path.name,
        )
    try:
        env = shard.open_env()
    except lmdb.Error as exc:
        res.fail("bad_store", f"cannot open ({exc})", file=name)
        return
    try:
        try:
            db = env.open_db(layout.IMAGE_DB, integerkey=True, create=False)
        except lmdb.Error as exc:
            res.fail("bad_store", f"no image_data sub-database ({exc})", file=name)
            return
        expected = 0
        uuids_here = set()
        with env.begin(db=db, buffers=True) as txn, txn.cursor() as cur:
            for k, v in cur:
                task.check()
                where = f"{name}, key {expected}"
                if len(k) != 8 or struct.unpack("<Q", bytes(k))[0] != expected:
                    res.fail(
                        "bad_key",
                        f"keys must run 0, 1, 2, … as 8-byte little-endian integers; found {bytes(k).hex()}",
                        file=where,
                    )
                    expected = struct.unpack("<Q", bytes(k))[0] if len(k) == 8 else expected
                try:
                    nd = blosc2.ndarray_from_cframe(bytes(v), True)
                    arr = nd[()]
                    uid = nd.schunk.meta["image-uuid"]
                except Exception as exc:
                    res.fail(
                        "undecodable",
                        f"the value does not decode ({type(exc).__name__}: {exc})",
                        file=where,
                    )
                    expected += 1
                    continue
                if arr.dtype.str not in ("|u1", "<u2") or arr.ndim not in (2, 3):
                    res.fail(
                        "bad_array",
                        f"array {arr.dtype} {arr.shape}: expected uint8/uint16, (Y, X) or (C, Y, X)",
                        file=where,
                    )
                if uid in seen:
                    res.fail(
                        "duplicate_uuid",
                        f"image-uuid {uid} is used twice in the package",
                        file=where,
                    )
                seen.add(uid)
                uuids_here.add(uid)
                hit = rows.get(uid)
                if meta is not None and hit is None:
                    res.fail("no_row", f"image-uuid {uid} has no row", file=shard.meta_path.name)
                elif hit is not None:
                    row = hit[1]
                    if metadata.LMDB_KEY in row and int(row[metadata.LMDB_KEY]) != expected:
                        res.fail(
                            "key_disagrees",
                            f"row says key {row[metadata.LMDB_KEY]}, the image is at key {expected}",
                            file=shard.meta_path.name,
                            row=hit[0] + 1,
                        )
                    want = row.get(metadata.PIXELS_SHA256)
                    if want and hashlib.sha256(memoryview(arr).cast("B")).hexdigest() != want:
                        res.fail(
                            "pixels_differ",
                            f"decoded pixels do not match {metadata.PIXELS_SHA256}",
                            file=where,
                        )
                res.images += 1
                expected += 1
                task.advance(1)
                if expected % 512 == 0:
                    layout.release_mapped(shard.images_path / "data.mdb")
        if meta is not None:
            for uid in set(rows) - uuids_here:
                res.fail(
                    "row_without_image",
                    f"row names image-uuid {uid}, which is not in the image store",
                    file=shard.meta_path.name,
                    row=rows[uid][0] + 1,
                )
    finally:
        env.close()


def _looks_like_a_package(root: Path) -> bool:
    """Any trace of the AqQua format: a manifest, image-set.toml, a store, or a pack under way."""
    return (
        (root / layout.MANIFEST).exists()
        or (root / layout.IMAGE_SET).exists()
        or (root / layout.STATE_DIR).exists()
        or any(root.glob("*-images-*.lmdb"))
    )


def _not_a_package(root: Path) -> str:
    """What the folder is instead, in the user's words: source data is packed first."""
    looks = ""
    try:
        from ..sources.registry import detect_all

        name, det = detect_all(root)[0]
        if det.confidence >= 0.3:
            looks = f" (it looks like {name} source data: {det.reason})"
    except Exception:  # saying what it is not is enough
        pass
    return (
        f"this is not an AqQua package{looks}. Pack it first, then verify the package folder "
        "that packing writes."
    )


def verify_package(path: Path | str, task: Task | None = None) -> VerifyResult:
    """Every check, every file, every image; never raises for a damaged package, reports it."""
    task = task or null_task()
    root = Path(path)
    res = VerifyResult(path=str(root))
    if not root.is_dir():
        res.fail("not_found", "not a folder", file=str(root))
        return res
    if not _looks_like_a_package(root):
        res.fail("not_a_package", _not_a_package(root), file=str(root))
        return res
    _check_files(root, res, task)
    try:
        ims = layout.read_image_set(root)
        for key in ("image-set-name", "image-set-uuid"):
            if key not in ims.get("meta", {}):
                res.fail("bad_image_set", f"[meta] lacks {key}", file=layout.IMAGE_SET)
    except FileNotFoundError:
        res.fail("bad_image_set", "missing", file=layout.IMAGE_SET)
    except Exception as exc:
        res.fail("bad_image_set", f"not valid TOML ({exc})", file=layout.IMAGE_SET)
    pkg = Package.__new__(Package)
    pkg.path = root
    pkg.shards = [s for s in _shards(root)]
    res.shards = len(pkg.shards)
    if not pkg.shards:
        res.fail("no_images", "no *-images-{ID}.lmdb store", file=str(root))
    task.start("verify", None, message="Decoding every image")
    seen: set[str] = set()
    for shard in pkg.shards:
        _check_shard(shard, res, seen, task)
    task.finish(res.summary().splitlines()[0])
    return res


def _shards(root: Path):
    from .read import Shard

    return [Shard(root, prefix, sid) for prefix, sid in layout.find_shards(root)]
