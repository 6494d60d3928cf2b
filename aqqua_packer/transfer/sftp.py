"""SFTP with paramiko: host keys checked before anything is sent, pipelined writes, resume.

Writes are pipelined (up to ``chunk_size`` bytes in flight, acknowledged in order), which is what
makes paramiko fast; ``confirmed`` only moves when the server acknowledged a write.  The server's
sha256 is asked for over an SSH exec channel (``sha256sum``); a server that only speaks SFTP gets
sampled ranges read back instead.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import logging
import os
import posixpath
import re
import shlex
import socket
from collections.abc import Callable
from pathlib import Path

import paramiko
from paramiko.sftp import CMD_EXTENDED, CMD_EXTENDED_REPLY, CMD_STATUS, CMD_WRITE, SFTPError, int64

from ..problems import UserError
from ..progress import format_bytes
from .base import (
    AuthenticationFailed,
    HostKeyChanged,
    HostKeyInfo,
    HostKeyUnknown,
    PasswordNeeded,
    RemoteFullError,
    RemoteQuotaError,
    SendOptions,
    Session,
    TransientError,
    Writer,
    full_or_quota,
)
from .journal import home
from .target import Target

log = logging.getLogger("aqqua_packer.transfer")

WINDOW = 64 << 20  # bytes the server may send us before waiting (and our channel window)
_HEX64 = re.compile(r"^([0-9a-fA-F]{64})\b")
_PREFERRED_CIPHERS = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-ctr",
    "aes256-ctr",
)


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's form: SHA256:<base64 without padding>."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")


def _known_hosts_files(options: SendOptions) -> tuple[list[Path], Path]:
    """Files to read host keys from, and the one a newly accepted key is added to."""
    if options.known_hosts is not None:
        return [options.known_hosts], options.known_hosts
    ours = home() / "known_hosts"
    return [Path.home() / ".ssh" / "known_hosts", ours], ours


def check_host_key(host: str, port: int, key: paramiko.PKey, options: SendOptions) -> None:
    """Trust on first use: a known key passes, a changed key is refused, a new one is asked about."""
    name = host if port == 22 else f"[{host}]:{port}"
    read, write = _known_hosts_files(options)
    info = HostKeyInfo(host, port, key.get_name(), fingerprint(key), write)
    for path in read:
        if not path.is_file():
            continue
        keys = paramiko.HostKeys()
        try:
            keys.load(str(path))
        except (OSError, paramiko.SSHException, ValueError) as exc:
            raise UserError(f"{path}: cannot read this known_hosts file ({exc}).") from exc
        entry = keys.lookup(name)
        if not entry:
            continue
        recorded = entry.get(key.get_name())
        if recorded is not None and recorded == key:
            return
        old = recorded or next(iter(entry.values()))
        raise HostKeyChanged(
            HostKeyInfo(host, port, key.get_name(), fingerprint(key), path),
            f"recorded: {old.get_name()} {fingerprint(old)}",
        )
    accepted = options.accept_new_host_key or (
        options.confirm_host_key is not None and options.confirm_host_key(info)
    )
    if not accepted:
        raise HostKeyUnknown(info)
    write.parent.mkdir(parents=True, exist_ok=True)
    with write.open("a", encoding="utf-8") as fh:
        fh.write(f"{name} {key.get_name()} {key.get_base64()}\n")
        fh.flush()
        os.fsync(fh.fileno())
    log.info(
        "accepted the new host key %s for %s and recorded it in %s", info.fingerprint, name, write
    )


def _load_identity(path: Path) -> paramiko.PKey:
    try:
        return paramiko.PKey.from_path(str(path))
    except paramiko.PasswordRequiredException as exc:
        raise UserError(
            f"{path}: this key is protected by a passphrase; load it into ssh-agent (ssh-add) and send again."
        ) from exc
    except (OSError, paramiko.SSHException, ValueError) as exc:
        raise UserError(f"{path}: cannot read this SSH key ({exc}).") from exc


def _default_keys() -> list[paramiko.PKey]:
    keys: list[paramiko.PKey] = []
    try:
        keys.extend(paramiko.Agent().get_keys())
    except (paramiko.SSHException, OSError):
        pass
    for name in ("id_ed25519", "id_ecdsa", "id_rsa"):
        p = Path.home() / ".ssh" / name
        if p.is_file():
            try:
                keys.append(paramiko.PKey.from_path(str(p)))
            except (
                paramiko.SSHException,
                OSError,
                ValueError,
            ):  # passphrase-protected or unknown: the agent may have it
                continue
    return keys


def _raise_if_link_failed(t: paramiko.Transport, exc: Exception) -> None:
    """An authentication that timed out or lost its connection is the link's fault, not the key's."""
    if not t.is_active() or "timeout" in str(exc).lower():
        raise TransientError(f"the connection failed during login ({exc})") from None


class SFTPSession(Session):
    name = "sftp"
    can_hash_remotely = True

    def __init__(self, target: Target, options: SendOptions):
        self.target, self.options = target, options
        self.transport: paramiko.Transport | None = None
        try:
            sock = socket.create_connection((target.host, target.port), timeout=options.timeout)
        except socket.gaierror as exc:
            raise UserError(
                f"{target.host}: no such server (the name does not resolve). Check the address."
            ) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t = paramiko.Transport(sock, default_window_size=WINDOW)
        self.transport = t
        sec = t.get_security_options()
        sec.ciphers = tuple(c for c in _PREFERRED_CIPHERS if c in sec.ciphers) + tuple(
            c for c in sec.ciphers if c not in _PREFERRED_CIPHERS
        )
        t.auth_timeout = t.banner_timeout = options.timeout
        t.start_client(timeout=options.timeout)
        check_host_key(
            target.host, target.port, t.get_remote_server_key(), options
        )  # before any byte of ours
        self._authenticate(t)
        t.set_keepalive(15)
        self.sftp = paramiko.SFTPClient.from_transport(t, window_size=WINDOW)
        self.sftp.get_channel().settimeout(options.timeout)
        # OpenSSH's sftp-server takes writes up to 255 KiB; others are only required to take 32 KiB
        self.piece_size = 252 * 1024 if "openssh" in (t.remote_version or "").lower() else 32 * 1024
        remote = target.path
        if not remote.startswith("/"):
            homedir = self.sftp.normalize(".")
            remote = posixpath.join(homedir, remote) if remote else homedir
        self.base = remote.rstrip("/") or "/"
        self._hash_ok = True

    def _authenticate(self, t: paramiko.Transport) -> None:
        user = self.target.user or os.environ.get("USER") or os.environ.get("USERNAME") or ""
        if not user:
            raise UserError(
                f"{self.target}: give the user name in the address (sftp://USER@host/…)."
            )
        allowed: list[str] = ["publickey", "password"]
        try:
            t.auth_none(user)
        except paramiko.BadAuthenticationType as exc:
            allowed = list(exc.allowed_types)
        except paramiko.AuthenticationException as exc:
            _raise_if_link_failed(t, exc)
        if t.is_authenticated():
            return
        keys = [_load_identity(self.options.identity)] if self.options.identity else _default_keys()
        if "publickey" in allowed:
            for key in keys:
                try:
                    t.auth_publickey(user, key)
                except paramiko.AuthenticationException as exc:
                    _raise_if_link_failed(t, exc)
                    continue
                if t.is_authenticated():
                    return
        where = f"{self.target.host}:{self.target.port}"
        if "password" not in allowed:
            raise AuthenticationFailed(
                f"The server {where} did not accept the SSH key{'s' if len(keys) != 1 else ''} for user '{user}' "
                "and does not take passwords. Give the right key with --identity."
            )
        password = self.options.get_password()
        if password is None:
            raise PasswordNeeded(
                f"The server {where} asks for user '{user}''s password. Type it when asked, keep it in the "
                "keyring, or set AQQUA_PASSWORD for unattended runs."
            )
        try:
            t.auth_password(user, password)
        except paramiko.AuthenticationException as exc:
            _raise_if_link_failed(t, exc)
            raise AuthenticationFailed(
                f"The server {where} refused the password for user '{user}'. Nothing was sent. Check the "
                "password (and the user name) and send again; it was not retried, so the account is not locked."
            ) from None
        if not t.is_authenticated():
            raise AuthenticationFailed(f"The server {where} did not let user '{user}' in.")

    def _p(self, rel: str) -> str:
        return posixpath.join(self.base, rel)

    def size(self, rel: str) -> int | None:
        try:
            return self.sftp.stat(self._p(rel)).st_size
        except FileNotFoundError:
            return None
        except PermissionError as exc:
            raise UserError(
                f"{self.target}: permission denied reading {self._p(rel)} at the server."
            ) from exc

    def mkdirs(self, rel: str) -> None:
        path = self._p(rel)
        todo = []
        while True:
            try:
                self.sftp.stat(path)
                break
            except PermissionError as exc:
                raise UserError(
                    f"{self.target}: the server does not let user '{self.target.user}' into {path}."
                ) from exc
            except FileNotFoundError:
                todo.append(path)
                parent = posixpath.dirname(path)
                if parent == path:
                    break
                path = parent
        for p in reversed(todo):
            try:
                self.sftp.mkdir(p)
            except PermissionError as exc:
                raise UserError(
                    f"{self.target}: the server does not let user '{self.target.user}' create the folder {p}."
                ) from exc
            except OSError:
                if self.size(posixpath.relpath(p, self.base)) is None:
                    raise

    def open_write(self, rel: str, offset: int) -> Writer:
        try:
            f = self.sftp.open(self._p(rel), "r+" if offset else "w")
        except PermissionError as exc:
            raise UserError(
                f"{self.target}: permission denied writing {self._p(rel)} at the server."
            ) from exc
        return _PipelinedWriter(
            self.sftp, f, offset, self.piece_size, self.options.chunk_size, self._write_refused
        )

    def _write_refused(self, exc: OSError) -> UserError | None:
        """Why the server refused a write, when retrying cannot help: its disk is full or the
        account's quota used up.  SFTP version 3 says only "Failure" (SSH_FX_FAILURE) for both,
        so the free space it reports (statvfs@openssh.com) tells them apart."""
        if exc.errno is not None:
            return None
        text = str(exc).strip() or "Failure"
        answer = full_or_quota(str(self.target), text)
        if answer is not None:
            return answer
        if text.lower() != "failure":
            return None
        free = self.free_bytes()
        said = f'it answered "{text}" to a write'
        if free is None or free < 2 * max(self.options.chunk_size, 1 << 20):
            where = "" if free is None else f", {format_bytes(free)} free"
            return RemoteFullError(str(self.target), said + where)
        return RemoteQuotaError(str(self.target), f"{said} with {format_bytes(free)} free")

    def rename(self, src: str, dst: str) -> None:
        try:
            self.sftp.posix_rename(self._p(src), self._p(dst))
        except PermissionError as exc:
            raise UserError(
                f"{self.target}: the server does not let user '{self.target.user}' rename {self._p(src)}."
            ) from exc
        except OSError:  # no posix-rename@openssh.com: plain SFTP rename does not replace
            if self.size(dst) is not None:
                self.sftp.remove(self._p(dst))
            self.sftp.rename(self._p(src), self._p(dst))

    def remove(self, rel: str) -> None:
        try:
            self.sftp.remove(self._p(rel))
        except FileNotFoundError:
            pass

    def start_sha256(self, rel: str, size: int) -> Callable[[], str | None]:
        """Start ``sha256sum`` at the server now (it runs while the next file uploads); the
        returned function waits for its answer: the hex digest, or None if the server cannot."""
        if not self._hash_ok or self.transport is None:
            return lambda: None
        path = shlex.quote(self._p(rel))
        chan = self._exec(f"sha256sum -- {path}", size)

        def result() -> str | None:
            digest = self._answer(chan) if chan is not None else None
            if digest is None and self._hash_ok:  # no sha256sum (macOS, BSD): try shasum
                other = self._exec(f"shasum -a 256 -- {path}", size)
                digest = self._answer(other) if other is not None else None
                if digest is None:
                    self._hash_ok = (
                        False  # no shell or no hashing tool: ranges are read back instead
                    )
            return digest

        return result

    def sha256(self, rel: str, size: int) -> str | None:
        return self.start_sha256(rel, size)()

    def _exec(self, command: str, size: int) -> paramiko.Channel | None:
        assert self.transport is not None
        try:
            chan = self.transport.open_session(timeout=self.options.timeout)
        except paramiko.ChannelException:  # the server allows SFTP only
            self._hash_ok = False
            return None
        chan.settimeout(self.options.timeout + size / (20 << 20))
        chan.exec_command(command)
        chan.shutdown_write()
        return chan

    @staticmethod
    def _answer(chan: paramiko.Channel) -> str | None:
        try:
            out = b""
            while len(out) < 4096:
                data = chan.recv(4096)
                if not data:
                    break
                out += data
            status = chan.recv_exit_status()
        finally:
            chan.close()
        m = _HEX64.match(out.decode("ascii", "replace"))
        return m.group(1).lower() if status == 0 and m else None

    def read_range(self, rel: str, offset: int, n: int) -> bytes:
        with self.sftp.open(self._p(rel), "rb") as fh:
            fh.seek(offset)
            out = b""
            while len(out) < n:
                data = fh.read(n - len(out))
                if not data:
                    break
                out += data
            return out

    def listdir(self, rel: str) -> list[str]:
        return self.sftp.listdir(self._p(rel))

    def free_bytes(self) -> int | None:
        """Free space in the receiving folder (OpenSSH's statvfs@openssh.com), None if unknown."""
        try:
            t, msg = self.sftp._request(CMD_EXTENDED, "statvfs@openssh.com", self.base)
            if t != CMD_EXTENDED_REPLY:
                return None
            _bsize, frsize, _blocks, _bfree, bavail = (msg.get_int64() for _ in range(5))
            return frsize * bavail
        except (OSError, paramiko.SSHException, EOFError):
            return None

    def preflight(self, package, remaining_bytes: int, largest: int) -> None:
        free = self.free_bytes()
        if free is not None and free < remaining_bytes:
            raise RemoteFullError(
                str(self.target),
                f"{format_bytes(free)} free there, the package needs {format_bytes(remaining_bytes)} more",
            )

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None


class _PipelinedWriter(Writer):
    """Keeps up to ``window`` bytes of writes in flight; ``confirmed`` moves with the server's acks."""

    def __init__(
        self,
        sftp: paramiko.SFTPClient,
        fh: paramiko.SFTPFile,
        offset: int,
        piece: int,
        window: int,
        refused: Callable[[OSError], UserError | None] = lambda exc: None,
    ):
        self.sftp, self.fh = sftp, fh
        self.refused = refused
        self.handle = fh.handle
        self.offset = self.confirmed = offset
        self.piece = piece
        self.window = max(window, piece)
        self.reqs: collections.deque[tuple[int, int]] = collections.deque()

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        for i in range(0, len(view), self.piece):
            part = bytes(view[i : i + self.piece])
            while self.reqs and self.offset - self.confirmed + len(part) > self.window:
                self._reap()
            num = self.sftp._async_request(
                type(None), CMD_WRITE, self.handle, int64(self.offset), part
            )
            self.offset += len(part)
            self.reqs.append((num, self.offset))
        while self.reqs and self.sftp.sock.recv_ready():
            self._reap()

    def _reap(self) -> None:
        num, end = self.reqs.popleft()
        try:
            t, _msg = self.sftp._read_response(num)
        except PermissionError as exc:
            raise UserError(f"the server refused a write: {exc}") from exc
        except OSError as exc:
            answer = self.refused(exc)
            if answer is not None:
                raise answer from None
            raise
        if t != CMD_STATUS:
            raise SFTPError("expected a status reply to a write")
        self.confirmed = end

    def finish(self) -> None:
        while self.reqs:
            self._reap()
        try:
            self.fh.close()
        except OSError as exc:
            answer = self.refused(exc)
            if answer is not None:
                raise answer from None
            raise
