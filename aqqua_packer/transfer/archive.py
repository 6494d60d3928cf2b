"""One-file export for link services (GigaMove, …): the package as one uncompressed tar, in parts.

``archive`` writes ``NAME.tar`` (or ``NAME.tar.001``, ``.002``, … when the tar is larger than the
part size) and ``SHA256SUMS`` of the parts, last.  The tar is laid out from the manifest alone
(sorted paths, fixed owner, mode and time), so byte N of it is known before it is written: a killed
run continues the part it was writing (``NAME.tar.007.partial``) from its last byte.  The shards
are already compressed, so the tar is not.

``unarchive`` checks the parts against ``SHA256SUMS`` (when it is next to them), joins them,
extracts the package (nothing may land outside the output folder) and checks every file against
the package's manifest, so the receiving side needs nothing but the packer.
"""

from __future__ import annotations

import json
import os
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from ..package.layout import fsync_dir, sha256_file, write_atomic
from ..problems import UserError
from ..progress import Task, null_task
from .manifest import read_package

SUMS = "SHA256SUMS"
BLOCK = 512
PIECE = 1 << 20


@dataclass
class ArchiveResult:
    parts: list[Path]
    sums: Path
    total_bytes: int
    resumed_from: int = 0  # bytes of the tar already written by an earlier run
    notes: list[str] = field(default_factory=list)


def _layout(root: Path) -> tuple[list[tuple[int, bytes | Path, int]], int, str]:
    """The tar as segments (start, header bytes or a file, length), its size, and the manifest's sha."""
    pkg = read_package(root)
    mtime = int((pkg.root / pkg.manifest.path).stat().st_mtime)
    segs: list[tuple[int, bytes | Path, int]] = []
    pos = 0
    for f in sorted(pkg.all_files, key=lambda f: f.path):
        info = tarfile.TarInfo(f"{pkg.name}/{f.path}")
        info.size, info.mtime, info.mode, info.uid, info.gid = f.size, mtime, 0o644, 0, 0
        header = info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="strict")
        segs.append((pos, header, len(header)))
        pos += len(header)
        segs.append((pos, pkg.local(f), f.size))
        pos += f.size
        pad = -f.size % BLOCK
        if pad:
            segs.append((pos, b"\0" * pad, pad))
            pos += pad
    segs.append((pos, b"\0" * (2 * BLOCK), 2 * BLOCK))  # the end-of-archive marker
    pos += 2 * BLOCK
    return segs, pos, pkg.manifest.sha256


def _read(segs, start: int, end: int):
    """The tar's bytes [start, end), in pieces."""
    for seg_start, what, n in segs:
        lo, hi = max(start, seg_start), min(end, seg_start + n)
        if lo >= hi:
            continue
        if isinstance(what, bytes):
            yield what[lo - seg_start : hi - seg_start]
            continue
        with open(what, "rb") as fh:
            fh.seek(lo - seg_start)
            left = hi - lo
            while left:
                data = fh.read(min(PIECE, left))
                if not data:
                    raise UserError(
                        f"{what}: the file became shorter while it was archived; repack."
                    )
                left -= len(data)
                yield data


def part_names(name: str, count: int) -> list[str]:
    return [f"{name}.tar"] if count == 1 else [f"{name}.tar.{i:03d}" for i in range(1, count + 1)]


def archive(
    package: Path, out: Path, part_size: int = 100 * 2**30, task: Task | None = None
) -> ArchiveResult:
    """Write (or continue writing) the package's tar parts and SHA256SUMS into ``out``."""
    task = task or null_task()
    if part_size < BLOCK:
        raise UserError(f"--part-size {part_size}: give at least 64K.")
    segs, total, manifest_sha = _layout(Path(package))
    name = Path(package).expanduser().resolve().name
    out = Path(out).expanduser().resolve()
    if out == Path(package).resolve() or Path(package).resolve() in out.parents:
        raise UserError(f"{out}: the output folder is inside the package; choose another folder.")
    out.mkdir(parents=True, exist_ok=True)
    count = max(1, -(-total // part_size))
    names = part_names(name, count)
    state = out / f".{name}.archive.json"
    wanted = {"manifest": manifest_sha, "part_size": part_size, "total": total}
    notes: list[str] = []
    if state.exists() and json.loads(state.read_text(encoding="utf-8")) != wanted:
        notes.append(
            "The package or the part size changed since the last run; starting the archive again."
        )
        for p in out.glob(f"{name}.tar*"):
            p.unlink()
        (out / SUMS).unlink(missing_ok=True)
    write_atomic(state, json.dumps(wanted).encode())
    task.start(
        "archive",
        total=count,
        unit="parts",
        bytes_total=total,
        message=f"archiving {name} into {out}",
    )
    resumed = 0
    for i, part in enumerate(names):
        start, end = i * part_size, min(total, (i + 1) * part_size)
        final, partial = out / part, out / f"{part}.partial"
        if final.exists() and final.stat().st_size == end - start:
            resumed += end - start
            task.advance(1, end - start)
            continue
        have = partial.stat().st_size if partial.exists() else 0
        if have > end - start:
            have = 0
        resumed += have
        task.advance(0, have)
        with open(partial, "r+b" if have else "wb") as fh:
            fh.seek(have)
            fh.truncate()
            for data in _read(segs, start + have, end):
                task.check()
                fh.write(data)
                task.advance(0, len(data))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, final)
        fsync_dir(out)
        task.advance(1)
    task.status("checksums of the parts")
    sums = "".join(f"{sha256_file(out / p)}  {p}\n" for p in names)
    write_atomic(out / SUMS, sums.encode())
    state.unlink(missing_ok=True)
    task.finish(f"{name}: {count} part(s), {total} bytes, in {out}")
    return ArchiveResult([out / p for p in names], out / SUMS, total, resumed, notes)


class _Joined:
    """The parts read one after another, as one stream (for tarfile's streaming mode)."""

    def __init__(self, parts: list[Path], task: Task):
        self.parts, self.task, self.fh = list(parts), task, None

    def read(self, n: int = -1) -> bytes:
        while True:
            if self.fh is None:
                if not self.parts:
                    return b""
                self.fh = open(self.parts.pop(0), "rb")
            data = self.fh.read(n if n >= 0 else PIECE)
            if data:
                self.task.advance(0, len(data))
                return data
            self.fh.close()
            self.fh = None


def _order(parts: list[Path]) -> list[Path]:
    def key(p: Path):
        m = re.search(r"\.(\d+)$", p.name)
        return (p.name[: m.start()] if m else p.name, int(m.group(1)) if m else 0)

    return sorted(parts, key=key)


def unarchive(parts: list[Path], out: Path, task: Task | None = None) -> Path:
    """Check, join and extract the parts into ``out``; verify the package; return its folder."""
    task = task or null_task()
    parts = _order([Path(p).expanduser().resolve() for p in parts if Path(p).name != SUMS])
    if not parts:
        raise UserError("unarchive: name the parts (NAME.tar, or NAME.tar.001 NAME.tar.002 …).")
    for p in parts:
        if not p.is_file():
            raise UserError(f"{p}: no such part.")
    sums = parts[0].parent / SUMS
    total = sum(p.stat().st_size for p in parts)
    task.start(
        "unarchive",
        total=len(parts),
        unit="parts",
        bytes_total=2 * total,
        message="checking the parts",
    )
    if sums.is_file():
        listed = {}
        for line in sums.read_text(encoding="utf-8").splitlines():
            digest, _, rel = line.partition("  ")
            if rel:
                listed[rel] = digest
        given = {p.name for p in parts}
        missing = [
            n for n in listed if n not in given and n.startswith(parts[0].name.split(".tar")[0])
        ]
        if missing:
            raise UserError(
                f"{sums}: the part(s) {', '.join(missing)} are missing; download them too."
            )
        for p in parts:
            if p.name in listed and sha256_file(p) != listed[p.name]:
                raise UserError(
                    f"{p}: damaged (its SHA-256 differs from {SUMS}); download this part again."
                )
            task.advance(1, p.stat().st_size)
    out = Path(out).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    names: set[str] = set()
    try:
        with tarfile.open(fileobj=_Joined(parts, task), mode="r|") as tar:
            for member in tar:
                names.add(member.name.split("/", 1)[0])
                tar.extract(member, out, filter="data")
    except (tarfile.TarError, EOFError) as exc:
        raise UserError(
            f"{parts[0]}: not a complete AqQua archive ({exc}); are all parts there?"
        ) from None
    if len(names) != 1:
        raise UserError(f"{parts[0]}: the archive holds {len(names)} top folders, not one package.")
    root = out / names.pop()
    pkg = read_package(root)
    for f in pkg.files:
        task.check()
        if sha256_file(pkg.local(f)) != f.sha256:
            raise UserError(
                f"{pkg.local(f)}: its SHA-256 differs from the manifest; the archive is damaged."
            )
    task.finish(f"{pkg.name}: restored into {root}; every file matches its manifest")
    return root
