"""The first four kinds of target, registered: SFTP, FTP/FTPS, a folder or drive, the Globus hand-off.

Their sessions live in ``sftp.py``, ``ftp.py``, ``drive.py`` and ``globus.py``; this module only
says how their addresses read and which code sends.  ``server_url`` is the shared reading of
``scheme://user@host:port/path`` that the WebDAV kinds use too.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit

from ..problems import UserError
from .target import Target, TargetKind, clean_remote, register


def server_url(text: str, default_port: int) -> tuple[SplitResult, int]:
    """Split ``scheme://user@host:port/path``; refuse a password in it, a missing host, a bad port."""
    u = urlsplit(text)
    if u.password is not None:
        raise UserError(
            f"{u.scheme.lower()}://…: do not put the password in the address (it would end up in shell "
            "history and cron files). Give it when asked, keep it in the keyring, or set AQQUA_PASSWORD."
        )
    if not u.hostname:
        raise UserError(f"{text}: the address names no server.")
    try:
        port = u.port or default_port
    except ValueError as exc:
        raise UserError(f"{text}: the port is not a number between 1 and 65535.") from exc
    return u, port


def absolute_path(raw: str, text: str) -> str:
    """An absolute remote folder; ``/~/`` (home) is read as relative."""
    decoded = unquote(raw)
    if decoded == "/~" or decoded.startswith("/~/"):
        return clean_remote(decoded[2:], text)
    return "/" + clean_remote(decoded, text)


def _parse_sftp(text: str) -> Target:
    u, port = server_url(text, 22)
    path = absolute_path(u.path, text)
    return Target(
        "sftp", host=u.hostname or "", port=port, user=unquote(u.username or ""), path=path
    )


def _parse_ftp(text: str) -> Target:
    u, port = server_url(text, 21)
    raw = u.path
    if raw.lower().startswith("/%2f") or raw.startswith("//"):  # curl: "/%2F…" is absolute
        path = "/" + clean_remote(unquote(raw), text)
    else:  # relative to the login folder
        decoded = unquote(raw[1:] if raw.startswith("/") else raw)
        if decoded == "~" or decoded.startswith("~/"):
            decoded = decoded[1:]
        path = clean_remote(decoded, text)
    scheme = u.scheme.lower()
    return Target(
        scheme, host=u.hostname or "", port=port, user=unquote(u.username or ""), path=path
    )


def _parse_folder(text: str) -> Target:
    if text.lower().startswith("file://"):
        text = unquote(urlsplit(text).path)
    return Target("folder", local=Path(text).expanduser().resolve())


def _parse_globus(text: str) -> Target:
    u, _ = server_url(text, 0)
    return Target("globus", host=u.hostname or "", path="/" + clean_remote(unquote(u.path), text))


def _sftp_session(target, options):
    from .sftp import SFTPSession

    return SFTPSession(target, options)


def _ftp_session(target, options):
    from .ftp import FTPSession

    return FTPSession(target, options)


def _drive_session(target, options):
    from .drive import DriveSession

    return DriveSession(target, options)


def _refuse_inside_package(pkg, tgt: Target) -> None:
    if tgt.local is not None:
        dest = tgt.local / pkg.name
        if dest.resolve() == pkg.root or pkg.root in dest.resolve().parents:
            raise UserError(
                f"{tgt.local}: the target folder is the package itself (or inside it); choose another folder or drive."
            )


def _globus_send(pkg, tgt, options, task):
    from .globus import send_globus

    return send_globus(pkg, tgt, options, task)


def address_of(scheme: str):
    """The address a form's fields (user, host, port, path) make, for a kind with a server."""

    def url(d: dict) -> str:
        user = f"{d['user']}@" if d.get("user") else ""
        port = f":{d['port']}" if d.get("port") else ""
        path = "/" + str(d.get("path", "")).lstrip("/")
        return f"{scheme}://{user}{d.get('host', '')}{port}{path}"

    return url


for _schemes, _title, _parse_it, _session, _port in (
    (("sftp",), "SFTP (SSH)", _parse_sftp, _sftp_session, 22),
    (("ftps", "ftp"), "FTP or FTPS", _parse_ftp, _ftp_session, 21),
):
    register(
        TargetKind(
            _schemes,
            _title,
            _parse_it,
            open_session=_session,
            url=address_of(_schemes[0]),
            default_port=_port,
        )
    )
register(
    TargetKind(
        ("folder", "file"),
        "A folder or drive",
        _parse_folder,
        open_session=_drive_session,
        before_send=_refuse_inside_package,
        url=lambda d: str(d.get("folder", "")),
    )
)
register(TargetKind(("globus",), "Globus", _parse_globus, send=_globus_send))
