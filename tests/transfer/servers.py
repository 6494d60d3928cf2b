"""Real servers on 127.0.0.1 for the transfer tests: OpenSSH sshd, pyftpdlib (FTP and FTPS), and a
TCP relay that drops, stalls and throttles the connection like a ship's satellite link.

Everything here is self-contained: sshd runs from its own config, host key and port in a temporary
folder; a dedicated unprivileged user (``aqqua-test``) with a known password is created once with
``useradd`` when it does not exist (the tests run as root in the sandbox and in CI).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import random
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
TEST_USER = "aqqua-test"
TEST_PASSWORD = "Pl4nkt0n-s3cret-%Zq"  # a test-only account; grep for it in logs and journals


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def ensure_test_user() -> pwd.struct_passwd:
    """Create the unprivileged test user with a known password, once (idempotent)."""
    try:
        entry = pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", TEST_USER], check=True)
        entry = pwd.getpwnam(TEST_USER)
    subprocess.run(["chpasswd"], input=f"{TEST_USER}:{TEST_PASSWORD}\n", text=True, check=True)
    return entry


def traversable(path: Path) -> None:
    """Let other users (sshd reading as the test user) pass through ``path`` and its parents."""
    p = path
    while p != p.parent:
        if p.exists():
            os.chmod(p, os.stat(p).st_mode | 0o011)
        p = p.parent


def user_dir(base: Path, name: str) -> Path:
    """A folder the test user owns, reachable through world-traversable parents."""
    entry = ensure_test_user()
    d = base / name
    d.mkdir(parents=True, exist_ok=True)
    traversable(d)
    os.chown(d, entry.pw_uid, entry.pw_gid)
    return d


def _penalties_off() -> str:
    """OpenSSH >= 9.8 refuses an address for a while after failed logins or cut connections
    (PerSourcePenalties); the tests do both on purpose from 127.0.0.1, so switch it off there."""
    out = subprocess.run([SSHD, "-V"], capture_output=True, text=True)
    m = re.search(r"OpenSSH_(\d+)\.(\d+)", out.stderr + out.stdout)
    return "PerSourcePenalties no" if m and (int(m.group(1)), int(m.group(2))) >= (9, 8) else ""


class SSHServer:
    """OpenSSH's sshd on 127.0.0.1 with its own config, host key and port."""

    def __init__(self, root: Path, *, port: int | None = None, extra_config: str = ""):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        traversable(self.root)
        self.port = port or free_port()
        self.extra_config = extra_config
        self.host_key = self.root / "host_ed25519"
        self.client_key = self.root / "client_ed25519"
        self.authorized = self.root / "authorized_keys"
        self.proc: subprocess.Popen | None = None
        ensure_test_user()
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        if not self.host_key.exists():
            self.new_host_key()
        if not self.client_key.exists():
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.client_key)],
                check=True,
            )
            shutil.copy(f"{self.client_key}.pub", self.authorized)
            os.chmod(self.authorized, 0o644)
        self.write_config()

    def new_host_key(self) -> None:
        for p in (self.host_key, Path(f"{self.host_key}.pub")):
            p.unlink(missing_ok=True)
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.host_key)], check=True
        )

    def write_config(self) -> None:
        self.config = self.root / "sshd_config"
        self.config.write_text(
            f"""Port {self.port}
ListenAddress 127.0.0.1
HostKey {self.host_key}
PidFile {self.root}/sshd.pid
AuthorizedKeysFile {self.authorized}
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin no
AllowUsers {TEST_USER}
MaxStartups 100
MaxSessions 20
LogLevel VERBOSE
Subsystem sftp internal-sftp
{_penalties_off()}
{self.extra_config}
"""
        )

    def start(self) -> SSHServer:
        self.proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.root / "sshd.log", "ab"),  # noqa: SIM115
            start_new_session=True,
        )
        wait_port(self.port)
        return self

    def stop(self) -> None:
        """Stop the listener and every session it started (a server crash, as clients see it)."""
        if self.proc is None:
            return
        import psutil

        with contextlib.suppress(psutil.NoSuchProcess):
            parent = psutil.Process(self.proc.pid)
            for child in parent.children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
            parent.kill()
        self.proc.wait(10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def host_key_line(self) -> str:
        kind, b64 = Path(f"{self.host_key}.pub").read_text().split()[:2]
        return f"[127.0.0.1]:{self.port} {kind} {b64}\n"

    def url(self, path: str, port: int | None = None) -> str:
        return f"sftp://{TEST_USER}@127.0.0.1:{port or self.port}{path}"


class FTPServer:
    """pyftpdlib on 127.0.0.1 in a thread; ``tls=True`` makes it FTPS (explicit AUTH TLS)."""

    def __init__(
        self,
        home: Path,
        *,
        tls: bool = False,
        tls_required: bool = False,
        cert: Path | None = None,
        says_disk_full: bool = True,
        refuse_stor: str | None = None,
    ):
        """``says_disk_full``: answer a write that fails for want of space "452 No space left on
        device" as proftpd does; pyftpdlib itself says only "426 None; transfer aborted"."""
        import logging

        logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import DTPHandler, FTPHandler
        from pyftpdlib.servers import ThreadedFTPServer

        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        auth = DummyAuthorizer()
        auth.add_user(TEST_USER, TEST_PASSWORD, str(home), perm="elradfmwMT")
        if tls:
            from pyftpdlib.handlers import TLS_FTPHandler

            class Handler(TLS_FTPHandler):
                pass

            Handler.certfile = str(cert)
            Handler.tls_control_required = tls_required
            Handler.tls_data_required = tls_required
        else:

            class Handler(FTPHandler):
                pass

        Handler.authorizer = auth
        self.stor_refusals = 0
        if refuse_stor:  # every upload is answered so (a quota, a full disk, no permission)
            server = self

            def ftp_STOR(handler, file, mode="w"):
                server.stor_refusals += 1
                handler.respond(refuse_stor)

            Handler.ftp_STOR = ftp_STOR
        if says_disk_full and not tls:

            class DataHandler(DTPHandler):
                def handle_error(self):
                    import errno
                    import sys

                    cause = getattr(sys.exc_info()[1], "__cause__", None)
                    if isinstance(cause, OSError) and cause.errno == errno.ENOSPC:
                        self._resp = (
                            "452 No space left on device; transfer aborted.",
                            logging.getLogger("pyftpdlib").warning,
                        )
                        self.close()
                        return
                    super().handle_error()

            Handler.dtp_handler = DataHandler
        Handler.passive_ports = None
        Handler.timeout = 30
        Handler.auth_failed_timeout = 0.1
        self.port = free_port()
        self.server = ThreadedFTPServer(("127.0.0.1", self.port), Handler)
        self.server.max_cons = 64
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"timeout": 0.2}, daemon=True
        )

    def start(self) -> FTPServer:
        self.thread.start()
        wait_port(self.port)
        return self

    def stop(self) -> None:
        self.server.close_all()
        self.thread.join(5)

    def url(self, path: str, scheme: str = "ftp", port: int | None = None) -> str:
        return f"{scheme}://{TEST_USER}@127.0.0.1:{port or self.port}{path}"


def self_signed_cert(folder: Path) -> Path:
    """A throwaway certificate+key PEM for the FTPS server (made with the openssl command)."""
    pem = folder / "ftps.pem"
    if not pem.exists():
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
                str(folder / "key.pem"),
                "-out",
                str(folder / "cert.pem"),
            ],
            check=True,
            capture_output=True,
        )
        pem.write_text((folder / "cert.pem").read_text() + (folder / "key.pem").read_text())
    return pem


class Relay:
    """A TCP relay on loopback between a client and a server: the network of a ship.

    ``drop_after`` (a callable returning a byte count, or None) cuts every connection after that
    many client-to-server bytes (counted over all of the relay's connections, so a drop also hits
    an FTP data connection); ``stall`` makes the next cut a silent stall (the relay stops forwarding
    but keeps the sockets open) instead of a reset; ``rate`` throttles client-to-server bytes/s.
    With ``ftp=True`` it rewrites PASV replies so data connections pass through it too.
    """

    def __init__(
        self,
        target_port: int,
        *,
        drop_after=None,
        rate: float | None = None,
        ftp: bool = False,
        stall_every: int = 0,
    ):
        self.target_port = target_port
        self.drop_after = drop_after
        self.rate = rate
        self.ftp = ftp
        self.stall_every = stall_every
        self.port = free_port()
        self.up_bytes = 0  # client -> server, everything forwarded
        self.cuts = 0
        self.stalls = 0
        self.connections = 0  # accepted on the main port
        self._budget = drop_after() if drop_after else None
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._stalled: list[socket.socket] = []
        self._listener = self._listen(self.port)
        self._stop = threading.Event()
        threading.Thread(
            target=self._accept, args=(self._listener, target_port, True), daemon=True
        ).start()

    def _listen(self, port: int) -> socket.socket:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(16)
        return s

    def _accept(self, listener: socket.socket, target_port: int, forever: bool) -> None:
        while not self._stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if forever:
                self.connections += 1
            try:
                server = socket.create_connection(("127.0.0.1", target_port))
            except OSError:
                client.close()
                continue
            for s in (client, server):
                # small buffers, like a real link: what is in flight when the link drops is lost
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 * 1024)
            with self._lock:
                self._sockets.update((client, server))
            pair = (client, server)
            threading.Thread(
                target=self._pipe, args=(client, server, True, pair), daemon=True
            ).start()
            threading.Thread(
                target=self._pipe, args=(server, client, False, pair), daemon=True
            ).start()
            if not forever:
                listener.close()
                return

    def _cut(self, pair) -> None:
        for s in pair:
            with contextlib.suppress(OSError):
                s.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
            with contextlib.suppress(OSError):
                s.close()

    def _pipe(self, src: socket.socket, dst: socket.socket, upstream: bool, pair) -> None:
        t0 = time.monotonic()
        sent = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    with contextlib.suppress(OSError):
                        dst.shutdown(socket.SHUT_WR)
                    return
                if upstream:
                    cut = stall = False
                    with self._lock:
                        if self._budget is not None:
                            self._budget -= len(data)
                            if self._budget <= 0:
                                data = data[: len(data) + self._budget]
                                self._budget = self.drop_after()
                                if (
                                    self.stall_every
                                    and (self.cuts + self.stalls + 1) % self.stall_every == 0
                                ):
                                    self.stalls += 1
                                    stall = True
                                else:
                                    self.cuts += 1
                                    cut = True
                        self.up_bytes += len(data)
                    if data:
                        dst.sendall(data)
                    if cut:
                        self._cut(pair)
                        return
                    if stall:
                        with self._lock:
                            self._stalled.extend(pair)
                        return  # nothing more is forwarded; the sockets stay open until close()
                    if self.rate:
                        sent += len(data)
                        ahead = sent / self.rate - (time.monotonic() - t0)
                        if ahead > 0:
                            time.sleep(ahead)
                else:
                    if self.ftp:
                        data = self._rewrite_pasv(data)
                    dst.sendall(data)
        except OSError:
            self._cut(pair)

    def _rewrite_pasv(self, data: bytes) -> bytes:
        m = re.search(rb"227 [^(]*\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)", data)
        if not m:
            return data
        port = int(m.group(5)) * 256 + int(m.group(6))
        listener = self._listen(0)
        mine = listener.getsockname()[1]
        threading.Thread(target=self._accept, args=(listener, port, False), daemon=True).start()
        repl = f"227 Entering Passive Mode (127,0,0,1,{mine // 256},{mine % 256})".encode()
        return data[: m.start()] + repl + data[m.end() :]

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            socks = list(self._sockets)
        for s in socks:
            with contextlib.suppress(OSError):
                s.close()


def random_drops(rng: random.Random, low: int, high: int):
    return lambda: rng.randint(low, high)
