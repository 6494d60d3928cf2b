"""Where a package goes: parse ``sftp://``, ``ftp://``, ``ftps://``, ``globus://`` or a local folder.

The URL's path is the remote folder that receives the package's folder, read as curl reads it:
for SFTP it is absolute and ``/~/`` means the home folder; for FTP it is relative to the folder the
server logs you into, ``/%2F…`` makes it absolute and ``/~/`` also means the login folder.  A path
with ``..`` is refused, so nothing can land outside the folder the user named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..problems import UserError

DEFAULT_PORTS = {"sftp": 22, "ftp": 21, "ftps": 21}


@dataclass(frozen=True)
class Target:
    scheme: str  # "sftp", "ftp", "ftps", "folder", "globus"
    host: str = ""
    port: int = 0
    user: str = ""
    path: str = ""  # remote folder: "/abs/olute", "rel/ative" (to home/login folder) or "" (home)
    local: Path | None = None  # for "folder"

    @property
    def canonical(self) -> str:
        """The target without any secret, as recorded in journals and shown to people."""
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


def _clean_remote(path: str, original: str) -> str:
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise UserError(
            f"{original}: the remote folder must not contain '..' (it could leave the folder you named)."
        )
    if any("\x00" in p for p in parts):
        raise UserError(f"{original}: the remote folder contains a NUL character.")
    return "/".join(parts)


def parse_target(text: str) -> Target:
    """Parse what the user typed as TARGET; a clear UserError for anything we cannot use."""
    text = text.strip()
    if "://" not in text:
        if not text:
            raise UserError(
                "No target given: name an sftp://, ftp://, ftps:// address or a folder."
            )
        typo = re.match(r"(?i)(sftp|ftps|ftp|globus|file)(:/{0,1}|//)(?!/)(.+)", text)
        if typo and not Path(text).expanduser().exists():  # "sftp//host", "sftp:/host", "ftp:host"
            fixed = f"{typo.group(1).lower()}://{typo.group(3).lstrip('/')}"
            raise UserError(
                f"{text}: this looks like an address with a typing slip. Did you mean {fixed} ? "
                "(A folder on this computer is named without sftp, ftp or ftps in front.)"
            )
        return Target("folder", local=Path(text).expanduser().resolve())
    u = urlsplit(text)
    scheme = u.scheme.lower()
    if scheme == "file":
        return Target("folder", local=Path(unquote(u.path)).expanduser().resolve())
    if scheme not in ("sftp", "ftp", "ftps", "globus"):
        raise UserError(
            f"{text}: unknown kind of target {scheme!r}; use sftp://, ftp://, ftps://, globus:// or a folder."
        )
    if u.password is not None:
        raise UserError(
            f"{scheme}://…: do not put the password in the address (it would end up in shell history "
            "and cron files). Give it when asked, keep it in the keyring, or set AQQUA_PASSWORD."
        )
    if not u.hostname:
        raise UserError(f"{text}: the address names no server.")
    if scheme == "globus":
        return Target("globus", host=u.hostname, path="/" + _clean_remote(unquote(u.path), text))
    try:
        port = u.port or DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise UserError(f"{text}: the port is not a number between 1 and 65535.") from exc
    raw = u.path
    if scheme == "sftp":
        decoded = unquote(raw)
        if decoded == "/~" or decoded.startswith("/~/"):
            path = _clean_remote(decoded[2:], text)
        else:
            path = "/" + _clean_remote(decoded, text)
    else:  # curl's FTP reading: relative to the login folder, "/%2F…" absolute
        if raw.lower().startswith("/%2f") or raw.startswith("//"):
            path = "/" + _clean_remote(unquote(raw), text)
        else:
            decoded = unquote(raw[1:] if raw.startswith("/") else raw)
            if decoded == "~" or decoded.startswith("~/"):
                decoded = decoded[1:]
            path = _clean_remote(decoded, text)
    return Target(scheme, host=u.hostname, port=port, user=unquote(u.username or ""), path=path)


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
