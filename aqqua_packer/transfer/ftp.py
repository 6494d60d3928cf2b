"""FTP and FTPS with ftplib: binary, passive, ``REST`` resume, TLS whenever the server offers it.

``ftps://`` requires TLS (explicit, ``AUTH TLS``) and checks the server's certificate (``ftps_ca``
adds a certificate to trust).  ``ftp://`` switches to TLS when the server offers it, and warns
before a password would cross the network in clear.  FTP has no acknowledgement per write: after a
drop the server's ``SIZE`` of the temporary file says where to resume.
"""

from __future__ import annotations

import contextlib
import ftplib
import posixpath
import re
import socket
import ssl

from ..problems import UserError
from .base import (
    AuthenticationFailed,
    PasswordNeeded,
    SendOptions,
    Session,
    TransientError,
    Writer,
    full_or_quota,
)
from .target import Target

_HASH = re.compile(r"\b([0-9a-fA-F]{64})\b")
SNDBUF = 1 << 20  # bounds what is lost in flight when the link drops


class FTPSession(Session):
    name = "ftp"
    piece_size = 256 * 1024

    def __init__(self, target: Target, options: SendOptions):
        self.target, self.options = target, options
        where = f"{target.host}:{target.port}"
        if target.scheme == "ftps":
            ctx = ssl.create_default_context(
                cafile=str(options.ftps_ca) if options.ftps_ca else None
            )
        else:  # opportunistic: encrypts against eavesdroppers, cannot prove who the server is
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        ftp = ftplib.FTP_TLS(context=ctx, timeout=options.timeout)
        self.ftp = ftp
        try:
            ftp.connect(target.host, target.port, timeout=options.timeout)
        except socket.gaierror as exc:
            raise UserError(
                f"{target.host}: no such server (the name does not resolve). Check the address."
            ) from exc
        secure = False
        try:
            feat = ftp.sendcmd("FEAT")
        except ftplib.error_perm:
            feat = ""
        if target.scheme == "ftps" or "AUTH TLS" in feat.upper():
            try:
                ftp.auth()
                secure = True
            except ssl.SSLCertVerificationError as exc:
                raise UserError(
                    f"The FTPS server {where} presented a certificate this computer does not trust ({exc.verify_message}). "
                    "Nothing was sent. If AqQua gave you a certificate file, pass it with --ftps-ca."
                ) from exc
            except ftplib.error_perm as exc:
                if target.scheme == "ftps":
                    raise UserError(
                        f"The server {where} does not speak FTPS (it refused AUTH TLS). Try ftp:// or sftp://."
                    ) from exc
        user = target.user or "anonymous"
        if not secure and user != "anonymous":  # said before the password is asked for
            options.warn(
                f"The FTP server {where} does not offer encryption (TLS): the password and the data will cross "
                "the network readable by anyone on the way. Use sftp:// or ftps:// if AqQua offers them."
            )
        password = options.get_password() if user != "anonymous" else "aqqua-packer@"
        if password is None:
            raise PasswordNeeded(
                f"The FTP server {where} needs user '{user}''s password. Type it when asked, keep it in the "
                "keyring, or set AQQUA_PASSWORD for unattended runs."
            )
        try:
            ftp.login(user, password, secure=False)
        except ftplib.error_perm:
            raise AuthenticationFailed(
                f"The FTP server {where} refused user '{user}' and this password. Nothing was sent. Check the "
                "password (and the user name) and send again; it was not retried, so the account is not locked."
            ) from None
        if secure:
            ftp.prot_p()
        ftp.voidcmd("TYPE I")
        ftp.set_pasv(True)
        self.login_dir = ftp.pwd()
        remote = target.path
        self.base = (
            remote
            if remote.startswith("/")
            else posixpath.join(self.login_dir, remote)
            if remote
            else self.login_dir
        )
        self._hash_cmd: str | None = "HASH" if "HASH" in feat.upper() else None
        self.can_hash_remotely = self._hash_cmd is not None

    def _p(self, rel: str) -> str:
        return posixpath.join(self.base, rel)

    def size(self, rel: str) -> int | None:
        try:
            return self.ftp.size(self._p(rel))
        except ftplib.error_perm:
            return None

    def mkdirs(self, rel: str) -> None:
        path = self._p(rel)
        parts = [p for p in path.split("/") if p]
        cur = "/" if path.startswith("/") else ""
        for part in parts:
            cur = posixpath.join(cur, part)
            try:
                self.ftp.cwd(cur)
                continue
            except ftplib.error_perm:
                pass
            try:
                self.ftp.mkd(cur)
            except ftplib.error_perm as exc:
                raise UserError(
                    f"{self.target}: the server does not let user '{self.target.user}' create the folder {cur} ({exc})."
                ) from exc
        self.ftp.cwd(self.login_dir)

    def open_write(self, rel: str, offset: int) -> Writer:
        try:
            conn = self.ftp.transfercmd(f"STOR {self._p(rel)}", rest=offset or None)
        except (ftplib.error_perm, ftplib.error_temp) as exc:
            if (answer := full_or_quota(str(self.target), str(exc))) is not None:
                raise answer from None
            if isinstance(exc, ftplib.error_temp):
                raise
            if str(exc).startswith(("550", "553", "532")):
                raise UserError(
                    f"{self.target}: the server refused to store {self._p(rel)} ({exc})."
                ) from exc
            raise TransientError(str(exc)) from exc
        with contextlib.suppress(OSError):
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
        return _FTPWriter(self.ftp, conn, offset, str(self.target))

    def rename(self, src: str, dst: str) -> None:
        try:
            self.ftp.rename(self._p(src), self._p(dst))
        except ftplib.error_perm:
            self.remove(dst)
            self.ftp.rename(self._p(src), self._p(dst))

    def remove(self, rel: str) -> None:
        with contextlib.suppress(ftplib.error_perm):
            self.ftp.delete(self._p(rel))

    def sha256(self, rel: str, size: int) -> str | None:
        if not self._hash_cmd:
            return None
        try:
            self.ftp.sendcmd("OPTS HASH SHA-256")
            reply = self.ftp.sendcmd(f"HASH {self._p(rel)}")
        except ftplib.error_perm:
            self._hash_cmd = None
            self.can_hash_remotely = False
            return None
        m = _HASH.search(reply)
        return m.group(1).lower() if m else None

    def read_range(self, rel: str, offset: int, n: int) -> bytes:
        conn = self.ftp.transfercmd(f"RETR {self._p(rel)}", rest=offset or None)
        out = b""
        try:
            while len(out) < n:
                data = conn.recv(min(65536, n - len(out)))
                if not data:
                    break
                out += data
        finally:
            _close_data(conn)
        try:
            self.ftp.voidresp()  # 226 when it had sent all, 426/451 when we hung up early
        except (ftplib.error_temp, ftplib.error_perm):
            pass
        return out

    def listdir(self, rel: str) -> list[str]:
        return [posixpath.basename(n.rstrip("/")) for n in self.ftp.nlst(self._p(rel))]

    def close(self) -> None:
        try:
            self.ftp.quit()
        except (OSError, EOFError, ftplib.Error):
            self.ftp.close()


def _close_data(conn: socket.socket) -> None:
    if isinstance(conn, ssl.SSLSocket):
        with contextlib.suppress(OSError, ValueError):
            conn = conn.unwrap()
    conn.close()


class _FTPWriter(Writer):
    def __init__(self, ftp: ftplib.FTP, conn: socket.socket, offset: int, where: str = "ftp"):
        self.ftp, self.conn, self.where = ftp, conn, where
        self.confirmed = offset  # FTP confirms nothing until the end: SIZE tells after a drop
        self.sent = offset

    @property
    def progress(self) -> int:
        return self.sent

    def write(self, data: bytes) -> None:
        try:
            self.conn.sendall(data)
        except OSError:
            # the server hung up on the data: its reply on the control connection says why
            # (pyftpdlib: "426 No space left on device; transfer aborted.")
            _close_data(self.conn)
            self._raise_refusal(self._reply())
            raise
        self.sent += len(data)

    def _reply(self) -> str:
        with contextlib.suppress(OSError, EOFError, ftplib.Error):
            self.ftp.sock.settimeout(5)
            return self.ftp.getmultiline()
        return ""

    def _raise_refusal(self, answer: str) -> None:
        refusal = full_or_quota(self.where, answer) if answer else None
        if refusal is not None:
            raise refusal from None

    def finish(self) -> None:
        try:
            if isinstance(self.conn, ssl.SSLSocket):
                self.conn.unwrap()
            self.conn.close()
        except OSError:
            self._raise_refusal(self._reply())
            raise
        try:
            self.ftp.voidresp()
        except ftplib.Error as exc:
            self._raise_refusal(str(exc))
            raise
