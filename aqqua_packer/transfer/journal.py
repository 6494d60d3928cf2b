"""The transfer journal: what has arrived where, on disk, surviving kill -9 and reboots.

One journal per (package content, target): ``$AQQUA_PACKER_HOME/transfers/<package>-<key>.jsonl``
(default home ``~/.aqqua-packer``), where the key hashes the manifest's sha256 and the target
without secrets.  It lives outside the package so it is never sent and works for packages on
read-only media; a re-packed package (new manifest) starts a new journal.

Each line is one JSON record, appended and fsynced: ``file`` (its size and sha256, once),
``confirmed`` (bytes the server acknowledged),
``done`` (arrived, verified, renamed to its final name), ``reset`` (the server lost it), ``attempt``
(an upload (re)started at an offset) and ``complete``.  A line torn by a crash is ignored.  No
password ever goes into it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..problems import UserError
from .manifest import LocalPackage
from .target import Target


def home() -> Path:
    return Path(os.environ.get("AQQUA_PACKER_HOME") or Path.home() / ".aqqua-packer")


def journal_path(package: LocalPackage, target: Target) -> Path:
    key = hashlib.sha256(f"{package.manifest.sha256}\0{target.canonical}".encode()).hexdigest()[:16]
    return home() / "transfers" / f"{package.name}-{key}.jsonl"


@dataclass
class FileRecord:
    confirmed: int = 0
    done: bool = False
    verified_by: str = ""
    attempts: int = 0


@dataclass
class Journal:
    path: Path
    files: dict[str, FileRecord] = field(default_factory=dict)
    complete: bool = False
    _fh: Any = None

    @classmethod
    def load(cls, path: Path) -> Journal:
        """Read a journal (absent: empty); ignores a torn last line."""
        j = cls(path)
        if not path.exists():
            return j
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict):
                    j._apply(rec)
        return j

    def _apply(self, rec: dict) -> None:
        kind, name = rec.get("t"), rec.get("f")
        if kind == "complete":
            self.complete = True
            return
        if not isinstance(name, str):
            return
        fr = self.files.setdefault(name, FileRecord())
        if kind == "confirmed":
            fr.confirmed = int(rec.get("n", 0))
        elif kind == "done":
            fr.done, fr.verified_by = True, str(rec.get("how", ""))
            fr.confirmed = int(rec.get("n", fr.confirmed))
        elif kind == "reset":
            self.files[name] = FileRecord(attempts=fr.attempts)
            self.complete = False
        elif kind == "attempt":
            fr.attempts += 1

    def record(self, kind: str, name: str | None = None, **values: Any) -> None:
        """Append one record and fsync it: once this returns, the record survives a power cut."""
        rec: dict[str, Any] = {"t": kind, "at": round(time.time(), 3)}
        if name is not None:
            rec["f"] = name
        rec.update(values)
        self._apply(rec)
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            torn = (
                self.path.exists()
                and self.path.stat().st_size > 0
                and not self.path.read_bytes().endswith(b"\n")
            )
            self._fh = self.path.open("a", encoding="utf-8")
            if torn:
                self._fh.write("\n")
        self._fh.write(json.dumps(rec, separators=(",", ":")) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def lock(self) -> None:
        """Make sure only one send of this package to this target runs (cron overlapping a person)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.with_suffix(".lock").open("a+")
        try:
            if os.name == "nt":
                import msvcrt

                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise UserError(
                "Another `send` of this package to this target is already running (perhaps started by "
                "cron). Let it finish or stop it, then run this again; nothing is lost either way."
            ) from None
        self._lock = fh

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        lock = self.__dict__.pop("_lock", None)
        if lock is not None:
            lock.close()  # closing releases the lock
