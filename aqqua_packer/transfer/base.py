"""What every target shares: the options of a send, the errors a user can act on, and the small
interface (``Session`` and ``Writer``) each target implements so one engine drives them all."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..problems import UserError
from ..progress import Task

log = logging.getLogger("aqqua_packer.transfer")

MiB = 1 << 20


class TransientError(Exception):
    """The network (or the server) failed in a way that retrying later can fix."""


@dataclass(frozen=True)
class HostKeyInfo:
    """A server's SSH host key as a person checks it: the SHA256 fingerprint OpenSSH also shows."""

    host: str
    port: int
    key_type: str
    fingerprint: str  # "SHA256:…"
    known_hosts: Path  # where it is (or would be) recorded


class HostKeyUnknown(UserError):
    """The server is new: show ``info.fingerprint`` and send again with the key accepted."""

    def __init__(self, info: HostKeyInfo):
        super().__init__(
            f"The server {info.host}:{info.port} is new to this computer. Its {info.key_type} key has the "
            f"fingerprint {info.fingerprint}. Check it with the server's administrator; if it matches, "
            "send again and accept it (--accept-new-host-key). Nothing was sent."
        )
        self.info = info


class HostKeyChanged(UserError):
    """The server's key differs from the recorded one: refused before any byte is sent."""

    def __init__(self, info: HostKeyInfo, recorded: str):
        super().__init__(
            f"DANGER: the server {info.host}:{info.port} presented a different host key than the one recorded "
            f"in {info.known_hosts} ({recorded}); it now shows {info.key_type} {info.fingerprint}. Someone may be "
            "intercepting the connection, or the server was reinstalled. Nothing was sent. Ask the server's "
            "administrator for the new fingerprint; only if it matches, remove the old line from that file."
        )
        self.info = info


EXIT_DESTINATION_FULL = 4  # as `pack` on a full disk: free space, then run the same command again


class RemoteFullError(UserError):
    """The destination has no room left (SFTP write "Failure" with no space free, FTP 452/552 or
    "No space left", WebDAV 507, a full drive): retrying cannot help, so the send stops at once."""

    def __init__(self, where: str, detail: str = ""):
        detail = f" ({detail})" if detail else ""
        super().__init__(
            f"{where}: the destination is full{detail}. What arrived there is kept; free space there "
            "(or ask AqQua to), then run the same command again to continue.",
            exit_code=EXIT_DESTINATION_FULL,
        )


class RemoteQuotaError(UserError):
    """The server refuses to store more for this account (a quota), though its disk has room."""

    def __init__(self, where: str, detail: str = ""):
        detail = f" ({detail})" if detail else ""
        super().__init__(
            f"{where}: the server refuses to store more for this account{detail}; the storage allowance "
            "(quota) there is probably used up. What arrived there is kept; ask AqQua to raise the quota, "
            "then run the same command again to continue.",
            exit_code=EXIT_DESTINATION_FULL,
        )


_FULL_WORDS = ("no space", "disk full", "insufficient storage", "not enough space", "storage full")
_QUOTA_WORDS = ("quota", "storage allocation")


def full_or_quota(where: str, answer: str) -> UserError | None:
    """The error for a server answer that says the destination is full or a quota is used up
    (FTP 452/552, WebDAV 507, any "No space left" / "quota" text); None for any other answer."""
    low = answer.lower()
    code = low.strip()[:3]
    text = answer.strip()[:160]
    if any(w in low for w in _FULL_WORDS):
        return RemoteFullError(where, text)
    if any(w in low for w in _QUOTA_WORDS):
        return RemoteQuotaError(where, text)
    if code in ("452", "507"):  # "insufficient storage" (RFC 959, RFC 4918)
        return RemoteFullError(where, text)
    if code == "552":  # "exceeded storage allocation" (RFC 959): the account's share is used up
        return RemoteQuotaError(where, text)
    return None


class AuthenticationFailed(UserError):
    """The server refused the credentials: never retried (no retry storm, no account lock-out)."""


class PasswordNeeded(UserError):
    """The server wants a password and none was given: ask the user, then send again."""


@dataclass
class SendOptions:
    """How to send.  ``password`` is held in memory only (never in repr, logs or the journal)."""

    bwlimit: int | None = None  # bytes per second
    retries: int = 10  # failed attempts in a row without progress before giving up (not unattended)
    give_up_after: float = 3600.0  # seconds without bytes durably arriving before giving up (ditto)
    identity: Path | None = None  # SSH private key
    known_hosts: Path | None = None  # read and written instead of the defaults
    password: str | None = field(default=None, repr=False)
    password_provider: Callable[[], str | None] | None = field(default=None, repr=False)
    accept_new_host_key: bool = False
    confirm_host_key: Callable[[HostKeyInfo], bool] | None = None  # GUI/CLI prompt for a new host
    unattended_for: float | None = None  # seconds; keep retrying, stop cleanly when they are over
    chunk_size: int = 4 * MiB  # unit of journal checkpoints, and the most data in flight
    timeout: float = 60.0  # seconds without progress before a connection counts as dead
    backoff_base: float = 2.0
    backoff_max: float = 600.0
    verify: str = "auto"  # "auto": sha256 where the server allows, else sampled ranges; "size"
    ftps_ca: Path | None = None  # a CA or certificate file to trust for ftps://
    on_warning: Callable[[str], None] | None = None
    on_file: Callable[[Any], None] | None = None  # gets an engine.FileState as a file progresses
    globus_share: Path | None = None  # the folder Globus Connect Personal shares
    globus_source_endpoint: str | None = None  # the contributor's own (GCP) endpoint id
    copy_mode: str = "auto"  # Globus staging: "auto" (hard link where possible), "copy", "link"
    target_options: Any = None  # the target kind's own settings (``TargetKind.options``)

    def get_password(self) -> str | None:
        if self.password is None and self.password_provider is not None:
            self.password = self.password_provider()
        return self.password

    def warn(self, message: str) -> None:
        """Tell the user once per send (a reconnect does not repeat it)."""
        given = self.__dict__.setdefault("_warned", set())
        if message in given:
            return
        given.add(message)
        if self.on_warning is not None:
            log.info(message)  # the caller shows it: logging it at warning level would repeat it
            self.on_warning(message)
        else:
            log.warning(message)


class Writer:
    """Appends one file's bytes at the server; ``confirmed`` is what the server acknowledged."""

    confirmed: int

    @property
    def progress(self) -> int:
        """What to show as sent: the confirmed bytes where the server acknowledges as it goes
        (SFTP), the bytes handed over where it only tells at the end (FTP, a drive's fsync)."""
        return self.confirmed

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def checkpoint(self) -> None:
        """Called every chunk: make what was written durable where the target can (a drive fsyncs)."""

    def finish(self) -> None:
        """Wait until the server holds every byte written, and close."""
        raise NotImplementedError


class Session:
    """A connection to one target, with paths relative to the folder that receives the package."""

    name = "target"
    piece_size = 256 * 1024  # bytes per write call
    can_hash_remotely = False

    def size(self, rel: str) -> int | None:
        raise NotImplementedError

    def mkdirs(self, rel: str) -> None:
        raise NotImplementedError

    def open_write(self, rel: str, offset: int) -> Writer:
        raise NotImplementedError

    def rename(self, src: str, dst: str) -> None:
        raise NotImplementedError

    def remove(self, rel: str) -> None:
        raise NotImplementedError

    def sha256(self, rel: str, size: int) -> str | None:
        """The server's sha256 of the file, or None when the server cannot compute it."""
        return None

    def start_sha256(self, rel: str, size: int) -> Callable[[], str | None]:
        """Start hashing; the returned function gives the answer.  Targets that can hash while the
        next file uploads (SFTP's exec channel) override this; others hash when asked."""
        return lambda: self.sha256(rel, size)

    def read_range(self, rel: str, offset: int, n: int) -> bytes:
        raise NotImplementedError

    def listdir(self, rel: str) -> list[str]:
        """Names in a folder at the target (to tidy away temporary files of earlier attempts)."""
        return []

    def preflight(self, package, remaining_bytes: int, largest: int) -> None:
        """Refuse early what cannot work (a full drive, FAT32 and a 5 GB file)."""

    def complete(self, package) -> None:
        """After the manifest arrived (the drive writes its README.txt)."""

    def close(self) -> None:
        pass


class RateLimiter:
    """A token bucket: on average at most ``rate`` bytes per second, in bursts of at most 1/4 s."""

    def __init__(self, rate: int | None, task: Task | None = None):
        self.rate = rate
        self.task = task
        self.allowance = 0.0
        self.last = time.monotonic()

    def take(self, n: int) -> None:
        if not self.rate:
            return
        now = time.monotonic()
        self.allowance = min(self.rate / 4, self.allowance + (now - self.last) * self.rate)
        self.last = now
        self.allowance -= n
        while self.allowance < 0:
            wait = min(0.2, -self.allowance / self.rate)
            time.sleep(wait)
            if self.task is not None:
                self.task.check()
            now = time.monotonic()
            self.allowance += (now - self.last) * self.rate
            self.last = now
