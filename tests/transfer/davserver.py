"""A real WebDAV server for the tests (wsgidav on cheroot, 127.0.0.1 only), over HTTP or HTTPS with
a test certificate authority, and a small Nextcloud layer in front of it.

The Nextcloud layer implements, from Nextcloud's developer manual ("Client APIs → WebDAV → Chunked
file upload", version 2), exactly what the packer uses:
- the user's files at ``/remote.php/dav/files/USER/…`` (served by wsgidav),
- ``MKCOL /remote.php/dav/uploads/USER/<id>`` with a ``Destination`` header (required on every
  request of v2) to start an upload,
- ``PUT …/<id>/<n>``: numbered chunks 1 … 10000, each at least 5 MB except the last (checked when
  assembling, as Nextcloud does), written as they arrive (a cut request leaves a torn chunk),
- ``PROPFIND`` (Depth 1) of the upload folder: the chunks and their sizes,
- ``MOVE …/<id>/.file`` to the ``Destination``: chunks joined in the order of their numbers,
  ``OC-Total-Length`` checked, the upload folder removed,
- ``DELETE`` of the upload folder (abort).
Not implemented: v1 chunking, the 24-hour expiry of upload folders, ``X-OC-Mtime``, checksums.
Logins are checked by the layer (app tokens with an expiry, as an expired/revoked app password
behaves: 401).  A quota makes the server answer 507 Insufficient Storage, as Nextcloud does.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter
from wsgidav.wsgidav_app import WsgiDAVApp

from .servers import free_port, wait_port

DAV_USER = "ana"
DAV_PASSWORD = "correct horse battery"


# --- a test certificate authority -----------------------------------------------------------------
def make_ca(folder: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 signed by it, and one for another name (mismatch)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("AqQua test CA"))
        .issuer_name(name("AqQua test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    out = {"ca": folder / "ca.pem"}
    out["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for label, san in (
        ("server", x509.IPAddress(ipaddress.ip_address("127.0.0.1"))),
        ("other", x509.DNSName("files.elsewhere.example")),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name("127.0.0.1" if label == "server" else "files.elsewhere.example"))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([san]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        out[label] = folder / f"{label}.pem"
        out[label].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        out[f"{label}-key"] = folder / f"{label}-key.pem"
        out[f"{label}-key"].write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return out


# --- WSGI layers ------------------------------------------------------------------------------------
def _read_body(environ) -> bytes:
    stream = environ["wsgi.input"]
    if environ.get("CONTENT_LENGTH"):
        return stream.read(int(environ["CONTENT_LENGTH"]))
    return stream.read()


def _answer(start_response, status: str, body: bytes = b"", headers=()):
    start_response(status, [("Content-Length", str(len(body))), *headers])
    return [body]


class Counting:
    """Counts the request-body bytes the server read for PUTs (what was put on the wire)."""

    def __init__(self, app):
        self.app, self.put_bytes = app, 0

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] == "PUT":
            inner, outer = environ["wsgi.input"], self

            class Input:
                def read(self, *a):
                    data = inner.read(*a)
                    outer.put_bytes += len(data)
                    return data

                def readline(self, *a):
                    data = inner.readline(*a)
                    outer.put_bytes += len(data)
                    return data

            environ["wsgi.input"] = Input()
        return self.app(environ, start_response)


class Quota:
    """507 Insufficient Storage for a PUT that would take the folder beyond ``limit`` bytes."""

    def __init__(self, app, root: Path, limit: int):
        self.app, self.root, self.limit = app, root, limit

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] == "PUT" and self.limit is not None:
            import io

            body = _read_body(environ)
            used = sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())
            if used + len(body) > self.limit:
                return _answer(start_response, "507 Insufficient Storage")
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)


class NextcloudLayer:
    """Logins with expiring app tokens and the chunked-upload v2 endpoints (module docstring)."""

    def __init__(self, app, files: Path, uploads: Path, user: str, tokens: dict[str, float]):
        self.app, self.files, self.uploads, self.user = app, files, uploads, user
        self.tokens = tokens  # app token -> expiry (epoch seconds)
        self.files_prefix = f"/remote.php/dav/files/{user}"
        self.uploads_prefix = f"/remote.php/dav/uploads/{user}/"

    def __call__(self, environ, start_response):
        auth = environ.get("HTTP_AUTHORIZATION", "")
        ok = False
        if auth.startswith("Basic "):
            user, _, token = base64.b64decode(auth[6:]).decode().partition(":")
            ok = user == self.user and self.tokens.get(token, 0) > time.time()
        if not ok:
            return _answer(
                start_response,
                "401 Unauthorized",
                headers=[("WWW-Authenticate", 'Basic realm="Nextcloud"')],
            )
        path = unquote(environ["PATH_INFO"])
        if path.startswith(self.uploads_prefix):
            return self.upload(environ, start_response, path[len(self.uploads_prefix) :])
        return self.app(environ, start_response)

    def upload(self, environ, start_response, rest: str):
        method = environ["REQUEST_METHOD"]
        parts = [p for p in rest.split("/") if p]
        if not parts or (
            method in ("MKCOL", "PUT", "MOVE") and not environ.get("HTTP_DESTINATION")
        ):
            return _answer(start_response, "400 Bad Request", b"v2 needs a Destination header")
        folder = self.uploads / parts[0]
        if method == "MKCOL" and len(parts) == 1:
            if folder.exists():
                return _answer(start_response, "405 Method Not Allowed")
            folder.mkdir(parents=True)
            return _answer(start_response, "201 Created")
        if method == "DELETE" and len(parts) == 1:
            shutil.rmtree(folder, ignore_errors=True)
            return _answer(start_response, "204 No Content")
        if method == "PROPFIND" and len(parts) == 1:
            if not folder.is_dir():
                return _answer(start_response, "404 Not Found")
            href = f"{self.uploads_prefix}{parts[0]}/"
            rows = [
                f"<d:response><d:href>{href}</d:href><d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype></d:prop></d:propstat></d:response>"
            ]
            for p in sorted(folder.iterdir()):
                rows.append(
                    f"<d:response><d:href>{href}{p.name}</d:href><d:propstat><d:prop><d:resourcetype/>"
                    f"<d:getcontentlength>{p.stat().st_size}</d:getcontentlength></d:prop></d:propstat></d:response>"
                )
            body = (
                '<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">'
                + "".join(rows)
                + "</d:multistatus>"
            ).encode()
            return _answer(
                start_response, "207 Multi-Status", body, [("Content-Type", "application/xml")]
            )
        if (
            method == "PUT"
            and len(parts) == 2
            and parts[1].isdigit()
            and 1 <= int(parts[1]) <= 10000
        ):
            if not folder.is_dir():
                return _answer(start_response, "404 Not Found")
            stream, left = environ["wsgi.input"], int(environ.get("CONTENT_LENGTH") or 0)
            with open(folder / parts[1], "wb") as fh:  # written as it arrives: a cut leaves it torn
                while left > 0:
                    data = stream.read(min(left, 1 << 16))
                    if not data:
                        break
                    fh.write(data)
                    left -= len(data)
            if left:  # the client went away: the torn chunk stays, as on a real server
                return _answer(start_response, "400 Bad Request", b"chunk cut short")
            return _answer(start_response, "201 Created")
        if method == "MOVE" and parts[1:] == [".file"]:
            chunks = sorted(
                (p for p in folder.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)
            )
            if any(p.stat().st_size < 5_000_000 for p in chunks[:-1]):
                return _answer(start_response, "400 Bad Request", b"chunks below 5 MB")
            total = sum(p.stat().st_size for p in chunks)
            if (
                environ.get("HTTP_OC_TOTAL_LENGTH")
                and int(environ["HTTP_OC_TOTAL_LENGTH"]) != total
            ):
                return _answer(start_response, "400 Bad Request", b"OC-Total-Length differs")
            dest_path = unquote(urlsplit(environ["HTTP_DESTINATION"]).path)
            if not dest_path.startswith(self.files_prefix + "/"):
                return _answer(start_response, "403 Forbidden")
            dest = self.files / dest_path[len(self.files_prefix) + 1 :]
            if not dest.parent.is_dir():
                return _answer(start_response, "409 Conflict")
            existed = dest.exists()
            tmp = dest.with_name(dest.name + ".assembling")
            with open(tmp, "wb") as out:
                for p in chunks:
                    with open(p, "rb") as fh:
                        shutil.copyfileobj(fh, out)
            tmp.replace(dest)
            shutil.rmtree(folder)
            return _answer(start_response, "204 No Content" if existed else "201 Created")
        return _answer(start_response, "405 Method Not Allowed")


class DavServer:
    """wsgidav on cheroot in a thread.  ``nextcloud=True`` mounts the folder at the Nextcloud user's
    files endpoint behind the NextcloudLayer; otherwise wsgidav's own basic auth guards ``/``."""

    def __init__(
        self,
        root: Path,
        *,
        tls: dict[str, Path] | None = None,
        cert: str = "server",
        nextcloud: bool = False,
        quota: int | None = None,
        tokens: dict[str, float] | None = None,
    ):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.nextcloud = nextcloud
        self.tokens = tokens if tokens is not None else {DAV_PASSWORD: time.time() + 3600}
        mount = f"/remote.php/dav/files/{DAV_USER}" if nextcloud else "/"
        config = {
            "provider_mapping": {mount: str(root)},
            "http_authenticator": {
                "domain_controller": None,
                "accept_basic": True,
                "accept_digest": False,
                "default_to_digest": False,
            },
            "simple_dc": {
                "user_mapping": {"*": True if nextcloud else {DAV_USER: {"password": DAV_PASSWORD}}}
            },
            "verbose": 0,
            "logging": {"enable": False},
            "property_manager": True,
            "lock_storage": True,
            "dir_browser": {"enable": False},
        }
        app = WsgiDAVApp(config)
        if quota is not None:
            app = Quota(app, root, quota)
        if nextcloud:
            app = NextcloudLayer(
                app, root, root.parent / (root.name + "-uploads"), DAV_USER, self.tokens
            )
        self.app = Counting(app)
        self.port = free_port()
        self.server = wsgi.Server(("127.0.0.1", self.port), self.app, numthreads=8, timeout=10)
        if tls is not None:
            self.server.ssl_adapter = BuiltinSSLAdapter(str(tls[cert]), str(tls[f"{cert}-key"]))
        self.scheme = "davs" if tls is not None else "dav"

    def start(self) -> DavServer:
        self.thread = threading.Thread(target=self.server.safe_start, daemon=True)
        self.thread.start()
        wait_port(self.port)
        return self

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(5)

    @property
    def put_bytes(self) -> int:
        return self.app.put_bytes

    def url(self, path: str = "/in") -> str:
        scheme = "nextcloud" if self.nextcloud else self.scheme
        return f"{scheme}://{DAV_USER}@127.0.0.1:{self.port}{path}"
