"""The resume state of a package being written, as typed records: package -> shards -> files.

A shard goes ``open -> closing -> closed`` and never back (docs/format.md, "Resume"):

- **open**: the shard's LMDB environment is being filled.  Its progress (next item, count, size
  estimate, channel layouts) lives in the same LMDB transactions as its images, as
  ``ShardRecord.progress_json()``; state.json does not name it yet.
- **closing**: both Parquet files are written; state.json names them (``files``) and what the shard
  holds.  Whatever crashed after this is repaired by doing the rest of the close again.
- **closed**: ``data.mdb`` is hashed and listed in ``files``; nothing in the shard changes again.

state.json is the JSON ``PackState.to_json()`` writes: the same keys and layout the writer has
always written, so a package half-written by an earlier version resumes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

from . import layout

OPEN, CLOSING, CLOSED = "open", "closing", "closed"
BASE_ESTIMATE = 64 * 1024  # bytes of an empty shard: meta pages, roots, branch pages


class StateError(ValueError):
    """A transition the state machine does not allow, or a state file it cannot read."""


@dataclass(frozen=True)
class FileRecord:
    """One file of a shard: its sha256 and size (``[digest, size]`` in state.json)."""

    sha256: str
    size: int

    def to_json(self) -> list:
        return [self.sha256, self.size]

    @classmethod
    def from_json(cls, value: list) -> FileRecord:
        digest, size = value
        return cls(str(digest), int(size))


@dataclass
class ShardRecord:
    """What one shard holds and how far its close has got."""

    index: int  # 0, 1, 2, ... within the package
    id: int  # the {ID} in its file names (layout.shard_id)
    first: int  # position of its first item in the work list
    next: int  # position of the next item to pack
    count: int = 0  # images in the shard
    est: int = BASE_ESTIMATE  # size estimate of data.mdb (only while open)
    channels: list[list[str]] = field(default_factory=list)  # channel layouts met, in order
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (position, reason)
    files: dict[str, FileRecord] = field(default_factory=dict)
    status: str = OPEN

    # open ------------------------------------------------------------------------------------
    @classmethod
    def opened(
        cls,
        index: int,
        sid: int,
        first: int,
        progress: dict | None = None,
        skipped: list[tuple[int, str]] | None = None,
    ) -> ShardRecord:
        """An open shard: new (no ``progress``) or as its last commit left it."""
        rec = cls(index=index, id=sid, first=first, next=first, skipped=list(skipped or []))
        if progress:
            rec.next, rec.count, rec.est = progress["next"], progress["count"], progress["est"]
            rec.channels = progress["channels"]
        return rec

    def add(self, p: int, est_bytes: int, channels: list[str]) -> None:
        """Item ``p`` is packed as the next image, adding ``est_bytes`` to data.mdb."""
        self._require(OPEN, "add an image to")
        self.count += 1
        self.next = p + 1
        self.est += est_bytes
        if channels not in self.channels:
            self.channels.append(channels)

    def skip(self, p: int, reason: str) -> None:
        """Item ``p`` is left out (listed in skipped.csv with ``reason``)."""
        self._require(OPEN, "skip an image in")
        self.skipped.append((p, reason))
        self.next = p + 1

    def progress_json(self) -> dict:
        """The progress committed with each LMDB transaction of an open shard."""
        return {"next": self.next, "count": self.count, "est": self.est, "channels": self.channels}

    # transitions -----------------------------------------------------------------------------
    def begin_close(self, files: dict[str, FileRecord]) -> None:
        """open -> closing: the Parquet files ``files`` are written."""
        self._require(OPEN, "begin closing")
        self.files = dict(files)
        self.status = CLOSING

    def finish_close(self, data_file: tuple[str, FileRecord] | None) -> None:
        """closing -> closed: ``data.mdb`` is hashed (None: the shard is empty and removed)."""
        self._require(CLOSING, "finish closing")
        if data_file is not None:
            name, rec = data_file
            self.files[name] = rec
        self.status = CLOSED

    def _require(self, status: str, what: str) -> None:
        if self.status != status:
            raise StateError(f"cannot {what} shard {self.index}: it is {self.status}, not {status}")

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files.values())

    # state.json ------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        if self.status == OPEN:
            raise StateError(f"shard {self.index} is open: state.json names closing shards only")
        return {
            "index": self.index,
            "id": self.id,
            "status": self.status,
            "first": self.first,
            "next": self.next,
            "count": self.count,
            "skipped": [[p, reason] for p, reason in self.skipped],
            "channels": self.channels,
            "files": {name: f.to_json() for name, f in self.files.items()},
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ShardRecord:
        if d.get("status") not in (CLOSING, CLOSED):
            raise StateError(f"shard {d.get('index')}: unknown status {d.get('status')!r}")
        numbers = {k: int(d[k]) for k in ("index", "id", "first", "next", "count")}
        return cls(
            **numbers,
            channels=[list(c) for c in d["channels"]],
            skipped=[(int(p), str(reason)) for p, reason in d["skipped"]],
            files={name: FileRecord.from_json(v) for name, v in d["files"].items()},
            status=d["status"],
        )


_KEYS = ("format", "fingerprint", "package_number", "image_set_uuid", "prefix", "created")


@dataclass
class PackState:
    """The package: what it is made of (``fingerprint``), its names, and its closing/closed shards."""

    fingerprint: str
    package_number: int
    image_set_uuid: str
    prefix: str
    created: str
    shards: list[ShardRecord] = field(default_factory=list)
    format: int = layout.FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)  # keys this version does not know: kept

    @classmethod
    def new(cls, fingerprint: str, package_number: int, prefix: str) -> PackState:
        return cls(
            fingerprint=fingerprint,
            package_number=package_number,
            image_set_uuid=str(uuid4()),
            prefix=prefix,
            created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )

    # the shards ------------------------------------------------------------------------------
    def record(self, rec: ShardRecord) -> None:
        """Put ``rec`` in (replacing the record of the same index), in index order."""
        rec.to_json()  # an open shard is refused here, not when saving
        self.shards = [s for s in self.shards if s.index != rec.index] + [rec]
        self.shards.sort(key=lambda s: s.index)

    def closing(self) -> list[ShardRecord]:
        """Shards whose close a crash interrupted."""
        return [s for s in self.shards if s.status == CLOSING]

    @property
    def next_index(self) -> int:
        return len(self.shards)

    @property
    def next_position(self) -> int:
        """Position in the work list of the first item no recorded shard holds or skipped."""
        return self.shards[-1].next if self.shards else 0

    @property
    def images(self) -> int:
        return sum(s.count for s in self.shards)

    def packed(self) -> list[ShardRecord]:
        """Shards that hold images (an empty last shard is recorded but has no files)."""
        return [s for s in self.shards if s.count]

    def file_digests(self) -> dict[str, str]:
        return {name: f.sha256 for s in self.shards for name, f in s.files.items()}

    def shard_id(self, index: int) -> int:
        return layout.shard_id(self.package_number, index)

    # state.json ------------------------------------------------------------------------------
    def to_json(self) -> bytes:
        d: dict[str, Any] = {
            "format": self.format,
            "fingerprint": self.fingerprint,
            "package_number": self.package_number,
            "image_set_uuid": self.image_set_uuid,
            "prefix": self.prefix,
            "created": self.created,
            **self.extra,
            "shards": [s.to_json() for s in self.shards],
        }
        return json.dumps(d, indent=1).encode()

    @classmethod
    def from_json(cls, data: str | bytes) -> PackState:
        try:
            d = json.loads(data)
            return cls(
                fingerprint=str(d["fingerprint"]),
                package_number=int(d["package_number"]),
                image_set_uuid=str(d["image_set_uuid"]),
                prefix=str(d["prefix"]),
                created=str(d["created"]),
                shards=[ShardRecord.from_json(s) for s in d["shards"]],
                format=int(d["format"]),
                extra={k: v for k, v in d.items() if k not in (*_KEYS, "shards")},
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise StateError(f"unreadable resume state ({type(exc).__name__}: {exc})") from None

    @classmethod
    def load(cls, path: Path) -> PackState:
        return cls.from_json(path.read_bytes())

    def save(self, path: Path) -> None:
        layout.write_atomic(path, self.to_json())
