"""Where a package goes: the ``Target`` a user names, and the registry of kinds of target.

Each kind of target (``sftp://``, ``ftp://``/``ftps://``, a folder, ``globus://``, ``davs://``,
``nextcloud://``, ``rclone:REMOTE:path``, …) lives in one module that registers a ``TargetKind``:
how its address is parsed and shown, its typed options, and either a ``Session`` the engine drives
or its own ``send`` (a hand-off or an external tool).  A new target is one new module plus one line
in ``KIND_MODULES``.  The modules are imported by name when the registry is first used, so this
module imports none of them (no import cycle).

A URL's path is the remote folder that receives the package's folder, read as curl reads it:
for SFTP it is absolute and ``/~/`` means the home folder; for FTP it is relative to the folder the
server logs you into, ``/%2F…`` makes it absolute and ``/~/`` also means the login folder.  A path
with ``..`` is refused, so nothing can land outside the folder the user named.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..problems import UserError

# the modules that register the kinds of target, in the order their schemes are listed to users
KIND_MODULES = [
    "aqqua_packer.transfer.kinds",
    "aqqua_packer.transfer.webdav",
    "aqqua_packer.transfer.rclone",
]


@dataclass(frozen=True)
class Target:
    scheme: str  # "sftp", "ftp", "ftps", "folder", "globus"
    host: str = ""
    port: int = 0
    user: str = ""
    path: str = ""  # remote folder: "/abs/olute", "rel/ative" (to home/login folder) or "" (home)
    local: Path | None = None  # for "folder"
    display: str = ""  # the kind's own canonical form where the URL form does not fit (rclone:…)

    @property
    def canonical(self) -> str:
        """The target without any secret, as recorded in journals and shown to people."""
        if self.display:
            return self.display
        if self.scheme == "folder":
            return str(self.local)
        if self.scheme == "globus":
            return f"globus://{self.host}/{self.path.lstrip('/')}"
        user = f"{self.user}@" if self.user else ""
        path = self.path if self.path.startswith("/") else "/~/" + self.path
        return f"{self.scheme}://{user}{self.host}:{self.port}{path}"

    @property
    def key(self) -> str:
        """The keyring entry's service name for this server and user."""
        return f"aqqua-packer {self.scheme}://{self.user}@{self.host}:{self.port}"

    def __str__(self) -> str:
        return self.canonical


def clean_remote(path: str, original: str) -> str:
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise UserError(
            f"{original}: the remote folder must not contain '..' (it could leave the folder you named)."
        )
    if any("\x00" in p for p in parts):
        raise UserError(f"{original}: the remote folder contains a NUL character.")
    return "/".join(parts)


@dataclass(frozen=True)
class TargetKind:
    """One kind of target, as its module registers it.

    ``parse(text)`` turns what the user typed into a ``Target`` (a clear UserError otherwise).
    Exactly one of ``open_session`` (a ``base.Session`` the engine drives: resume, verify, manifest
    last) and ``send`` (``(LocalPackage, Target, SendOptions, Task) -> SendResult``: a hand-off or
    an external tool with its own journal) is given.  ``options`` is the dataclass of this kind's
    own settings, passed in ``SendOptions.target_options``; ``before_send`` refuses early what
    cannot work; ``url`` builds the address from the GUI's fields.
    """

    schemes: tuple[str, ...]
    label: str
    parse: Callable[[str], Target]
    open_session: Callable[..., Any] | None = None
    send: Callable[..., Any] | None = None
    options: type | None = None
    before_send: Callable[..., None] | None = None
    url: Callable[[dict], str] | None = None
    default_port: int = 0
    opaque: bool = False  # "scheme:rest" without "//" (rclone:REMOTE:path)


_KINDS: dict[str, TargetKind] = {}
_loaded = False


def register(kind: TargetKind) -> TargetKind:
    """Add (or replace) a kind of target; a module calls this once at import."""
    for scheme in kind.schemes:
        _KINDS[scheme] = kind
    return kind


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for name in KIND_MODULES:
            importlib.import_module(name)


def kinds() -> list[TargetKind]:
    """Every registered kind, once each, in registration order."""
    _load()
    return list(dict.fromkeys(_KINDS.values()))


def kind_for(scheme: str) -> TargetKind:
    _load()
    try:
        return _KINDS[scheme]
    except KeyError:
        raise UserError(f"{scheme}: cannot send there (unknown kind of target).") from None


def _known_schemes() -> str:
    return (
        ", ".join(
            f"{s}://" for k in kinds() for s in k.schemes if s not in ("folder", "file", "rclone")
        )
        + ", rclone:REMOTE:path"
    )


_OPAQUE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):(?!//)")


def parse_target(text: str) -> Target:
    """Parse what the user typed as TARGET; a clear UserError for anything we cannot use."""
    text = text.strip()
    _load()
    if not text:
        raise UserError(f"No target given: name a folder or an address ({_known_schemes()}).")
    if "://" in text:
        scheme = text.split("://", 1)[0].lower()
        if scheme not in _KINDS:
            raise UserError(
                f"{text}: unknown kind of target {scheme!r}; use {_known_schemes()} or a folder."
            )
        return _KINDS[scheme].parse(text)
    m = _OPAQUE.match(text)
    if m and m.group(1).lower() in _KINDS and _KINDS[m.group(1).lower()].opaque:
        return _KINDS[m.group(1).lower()].parse(text)
    _refuse_typo(text)
    return _KINDS["folder"].parse(text)


def _refuse_typo(text: str) -> None:
    """"sftp//host", "sftp:/host", "davs:host": an address with a typing slip, not a folder."""
    schemes = sorted((s for k in kinds() if not k.opaque for s in k.schemes), key=len, reverse=True)
    typo = re.match(rf"(?i)({'|'.join(map(re.escape, schemes))})(:/?|//)(?!/)(.+)", text)
    if typo and not Path(text).expanduser().exists():
        fixed = f"{typo.group(1).lower()}://{typo.group(3).lstrip('/')}"
        raise UserError(
            f"{text}: this looks like an address with a typing slip. Did you mean {fixed} ? "
            "(A folder on this computer is named without sftp, ftp or the like in front.)"
        )


_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)[bB]?(?:/s)?\s*$")


def parse_rate(text: str | None) -> int | None:
    """'500K' -> 512000 bytes per second (K, M, G are powers of 1024, as in rsync)."""
    if text is None or str(text).strip() == "":
        return None
    m = _RATE.match(str(text))
    if not m:
        raise UserError(
            f"--bwlimit {text!r}: give bytes per second with an optional K, M or G, such as 500K or 8M."
        )
    value = float(m.group(1)) * 1024 ** " KMG".index((m.group(2) or " ").upper())
    if value < 1024:
        raise UserError(
            f"--bwlimit {text!r}: below 1K per second nothing useful gets through; give at least 1K."
        )
    return int(value)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_duration(text: str | None) -> float | None:
    """'6h', '90m', '1.5' (hours) -> seconds."""
    if text is None or str(text).strip() == "":
        return None
    m = _DURATION.match(str(text).lower())
    if not m:
        raise UserError(f"{text!r}: give a duration such as 6h, 90m or 1.5 (hours).")
    unit = m.group(2) or "h"
    return float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
