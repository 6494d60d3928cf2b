"""WebDAV (``davs://``, ``dav://``) and Nextcloud (``nextcloud://``) targets.

``davs://user@host[:port]/path`` is any WebDAV server over HTTPS (``dav://``: plain HTTP, for a
local network only).  ``nextcloud://user@host[:port]/path`` is the user's files on a Nextcloud (or
ownCloud-compatible) server, at ``/remote.php/dav/files/USER/path``.  The password (for Nextcloud
best an app password, Settings → Security → "Create new app password") comes from the prompt, the
keyring or ``AQQUA_PASSWORD``.  TLS certificates are checked against the system's authorities or,
for a server with its own certificate, the file given with ``--ca-file``.

A plain WebDAV ``PUT`` cannot append, so an interrupted file starts again from its first byte (the
Send page advises smaller shards).  Nextcloud takes large files in chunks with its chunked upload
v2 (docs.nextcloud.com, developer manual, "Client APIs → WebDAV → Chunked file upload"): ``MKCOL``
an upload folder, ``PUT`` numbered chunks (1 … 10000, at least 5 MB but the last), ``MOVE .file``
to assemble.  The upload folder's name follows from the file, so a new run finds the chunks that
arrived and continues after the last complete one.  Either way a file is checked at the other end
by its size and ranges read back (``Range`` GETs), then moved to its final name.
"""

from __future__ import annotations

import hashlib
import queue
import re
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from ..problems import UserError
from .base import (
    AuthenticationFailed,
    MiB,
    PasswordNeeded,
    RemoteFullError,
    Session,
    TransientError,
    Writer,
    full_or_quota,
)
from .kinds import absolute_path, address_of, server_url
from .target import Target, TargetKind, register

DAV = "{DAV:}"
_PART = re.compile(r"^\..+\.[0-9a-f]{12}\.part$")  # the engine's temporary names
MIN_CHUNK = 5 * 1000 * 1000  # Nextcloud: chunks are at least 5 MB, except the last


@dataclass
class DavOptions:
    """Settings only the WebDAV and Nextcloud targets read (``SendOptions.target_options``)."""

    ca_file: Path | None = None  # a CA or certificate file to trust (a self-signed server)
    chunk_size: int = 10 * MiB  # Nextcloud's chunked upload: bytes per chunk (5 MB … 5 GB)


def _tls_reason(exc: BaseException) -> str:
    text = str(exc)
    m = re.search(r"certificate verify failed: ([^(')\"]+)", text)
    if m:
        return m.group(1).strip().rstrip(",")
    m = re.search(r"(hostname [^(')\"]+doesn't match[^(')\"]*)", text)
    return m.group(1).strip() if m else text.splitlines()[0][:120]


class DavSession(Session):
    """A WebDAV folder over HTTP(S), one ``requests`` session (keep-alive) per connection."""

    name = "WebDAV"
    piece_size = 256 * 1024
    can_hash_remotely = False
    resumes_partial = False  # PUT cannot append: an interrupted file is sent again from its start
    expected_size: int | None = None  # the size of the file about to be opened (engine.expect)

    def expect(self, size: int) -> None:
        """The engine says how large the next file is: sent as Content-Length, and chunk sizes."""
        self.expected_size = size

    def __init__(self, target: Target, options):
        import requests

        self.t, self.opts = target, options
        extra = (
            options.target_options
            if isinstance(getattr(options, "target_options", None), DavOptions)
            else DavOptions()
        )
        self.extra = extra
        scheme = "http" if target.scheme == "dav" else "https"
        self.origin = f"{scheme}://{target.host}:{target.port}"
        self.http = requests.Session()
        self.verify: str | bool = str(extra.ca_file) if extra.ca_file else True
        self.http.headers["User-Agent"] = "aqqua-packer"
        if extra.ca_file is not None and not Path(extra.ca_file).is_file():
            raise UserError(f"--ca-file {extra.ca_file}: no such file.")
        password = options.get_password()
        if password is None:
            raise PasswordNeeded(
                f"{target.canonical} asks for {target.user or 'a user'}'s password (or app token): give it "
                "when asked, keep it in the keyring, or set AQQUA_PASSWORD."
            )
        self.http.auth = (target.user, password)
        self.root = self._files_root() + quote(target.path.rstrip("/"))
        self._req(
            "PROPFIND", self.origin + self._files_root() + "/", ok=(207,), headers={"Depth": "0"}
        )

    # --- addresses ------------------------------------------------------------------------------
    def _files_root(self) -> str:
        return ""

    def url(self, rel: str) -> str:
        rel = rel.strip("/")
        return self.origin + self.root + ("/" + quote(rel) if rel else "")

    # --- one request, its failures said in the user's words -------------------------------------
    def _req(self, method: str, url: str, *, ok: tuple[int, ...], **kw):
        import requests

        kw.setdefault("timeout", self.opts.timeout)
        kw["verify"] = self.verify  # per request: REQUESTS_CA_BUNDLE would override the session's
        try:
            r = self.http.request(method, url, **kw)
        except requests.exceptions.SSLError as exc:
            raise UserError(
                f"{self.origin}: the server's certificate is not trusted ({_tls_reason(exc)}). If the server "
                "uses its own certificate, ask its administrator for the CA file and give it with --ca-file. "
                "Nothing was sent."
            ) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(f"{method} {self.origin}: {type(exc).__name__}") from None
        if r.status_code in ok:
            return r
        where = f"{self.t.canonical}"
        if r.status_code == 401:
            raise AuthenticationFailed(
                f"{where}: the server refused the user name or the password/app token (wrong, revoked or "
                "expired). It is tried only once; check it, or make a new app password, and send again."
            )
        if r.status_code == 507:  # Insufficient Storage (RFC 4918): a full disk or quota
            said = (
                " ".join(r.text.split())[:120]
                if r.text and "<html" not in r.text[:200].lower()
                else ""
            )
            raise full_or_quota(
                where, f"507 Insufficient Storage {said}".strip()
            ) or RemoteFullError(where, "507 Insufficient Storage")
        if r.status_code == 403:
            raise UserError(f"{where}: the server does not allow {method} here (403 Forbidden).")
        if r.status_code in (408, 423, 425, 429) or r.status_code >= 500:
            raise TransientError(f"{method}: the server answered {r.status_code}")
        raise UserError(f"{where}: the server answered {method} with {r.status_code} {r.reason}.")

    # --- the Session interface --------------------------------------------------------------------
    def size(self, rel: str) -> int | None:
        r = self._req("HEAD", self.url(rel), ok=(200, 404))
        if r.status_code == 404:
            return None
        return int(r.headers.get("Content-Length", 0))

    def mkdirs(self, rel: str) -> None:
        path = ""
        for part in [p for p in (self.t.path.strip("/") + "/" + rel.strip("/")).split("/") if p]:
            path += "/" + quote(part)
            url = self.origin + self._files_root() + path
            self._req("MKCOL", url, ok=(201, 405))  # 405: it exists

    def open_write(self, rel: str, offset: int) -> Writer:
        if offset:
            raise TransientError("a WebDAV upload cannot continue a partial file")
        return _PutWriter(self, self.url(rel), length=self.expected_size)

    def rename(self, src: str, dst: str) -> None:
        self._req(
            "MOVE",
            self.url(src),
            ok=(201, 204),
            headers={"Destination": self.url(dst), "Overwrite": "T"},
        )

    def remove(self, rel: str) -> None:
        self._req("DELETE", self.url(rel), ok=(200, 204, 404))

    def read_range(self, rel: str, offset: int, n: int) -> bytes:
        if n == 0:
            return b""
        r = self._req(
            "GET",
            self.url(rel),
            ok=(200, 206),
            headers={"Range": f"bytes={offset}-{offset + n - 1}"},
        )
        return r.content if r.status_code == 206 else r.content[offset : offset + n]

    def listdir(self, rel: str) -> list[str]:
        return [name for name, _size, _dir in self._propfind(self.url(rel) + "/")]

    def _propfind(self, url: str) -> list[tuple[str, int, bool]]:
        """The members of a collection: (name, size, is a folder); [] when it does not exist."""
        r = self._req("PROPFIND", url, ok=(207, 404), headers={"Depth": "1"})
        if r.status_code == 404:
            return []
        own = unquote(urlsplit(url).path).rstrip("/")
        out = []
        for resp in ET.fromstring(r.content).iter(f"{DAV}response"):
            href = unquote(urlsplit(resp.findtext(f"{DAV}href", "")).path).rstrip("/")
            if href == own:
                continue
            size = resp.findtext(f".//{DAV}getcontentlength") or "0"
            is_dir = resp.find(f".//{DAV}resourcetype/{DAV}collection") is not None
            out.append((href.rsplit("/", 1)[-1], int(size), is_dir))
        return out

    def close(self) -> None:
        self.http.close()


class _Body:
    """An iterable body with a length, so requests sends Content-Length, not chunked coding."""

    def __init__(self, pieces, length: int):
        self.pieces, self.length = pieces, length

    def __iter__(self):
        return iter(self.pieces)

    def __len__(self) -> int:
        return self.length


class _PutWriter(Writer):
    """One streaming PUT: the engine's pieces go through a small queue into the request body."""

    def __init__(
        self, session: DavSession, url: str, headers: dict | None = None, length: int | None = None
    ):
        self.length = length  # sent as Content-Length when known (else chunked transfer coding)
        self.confirmed = 0
        self.handed = 0
        self.error: BaseException | None = None
        self.q: queue.Queue = queue.Queue(maxsize=16)
        self.thread = threading.Thread(
            target=self._run, args=(session, url, headers or {}), daemon=True
        )
        self.thread.start()

    @property
    def progress(self) -> int:
        return self.handed

    def _body(self):
        while (piece := self.q.get()) is not None:
            yield piece

    def _run(self, session: DavSession, url: str, headers: dict) -> None:
        try:
            if self.length == 0:
                body: object = b""
            elif self.length is not None:
                body = _Body(self._body(), self.length)
            else:
                body = self._body()
            session._req("PUT", url, ok=(200, 201, 204), data=body, headers=headers)
        except BaseException as exc:  # handed to the engine's thread in write()/finish()
            self.error = exc

    def _put(self, item) -> None:
        while True:
            if self.error is not None:
                raise self.error
            try:
                self.q.put(item, timeout=0.2)
                return
            except queue.Full:
                if not self.thread.is_alive():
                    raise TransientError("the upload ended early") from None

    def write(self, data: bytes) -> None:
        self._put(data)
        self.handed += len(data)

    def finish(self) -> None:
        self._put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error
        self.confirmed = self.handed


class NextcloudSession(DavSession):
    """Nextcloud's files endpoint plus its chunked upload v2 (see the module docstring)."""

    name = "Nextcloud"
    resumes_partial = True

    def __init__(self, target: Target, options):
        super().__init__(target, options)
        self.chunk = max(MIN_CHUNK, int(self.extra.chunk_size))

    def _files_root(self) -> str:
        return f"/remote.php/dav/files/{quote(self.t.user)}"

    def upload_folder(self, rel: str) -> str:
        key = hashlib.sha256(f"{self.root}/{rel}".encode()).hexdigest()[:24]
        return f"{self.origin}/remote.php/dav/uploads/{quote(self.t.user)}/aqqua-{key}"

    def size(self, rel: str) -> int | None:
        held = super().size(rel)
        if not _PART.match(rel.rsplit("/", 1)[-1]):
            return held
        if held is not None:  # assembled, or a small file's single PUT
            if self.expected_size is None or held == self.expected_size:
                return held
            super().remove(rel)  # a single PUT that was cut: that small file starts again
        chunks = self._propfind(self.upload_folder(rel) + "/")
        if not chunks:
            return None
        sizes = {int(name): size for name, size, is_dir in chunks if name.isdigit() and not is_dir}
        n = 0
        while (
            sizes.get(n + 1) == self.chunk
        ):  # contiguous complete chunks; a torn one is sent again
            n += 1
        return n * self.chunk

    def open_write(self, rel: str, offset: int) -> Writer:
        if offset % self.chunk:
            raise TransientError(
                f"{rel}: the server holds a partial chunk; starting that chunk again"
            )
        return _ChunkWriter(self, rel, offset)

    def remove(self, rel: str) -> None:
        super().remove(rel)
        self._req("DELETE", self.upload_folder(rel) + "/", ok=(200, 204, 404))


class _ChunkWriter(Writer):
    """Streams each numbered chunk as its bytes come (so ``--bwlimit`` paces the wire and a cut
    loses at most the chunk in flight); ``finish`` assembles.  A file smaller than one chunk goes
    up as one ordinary PUT."""

    def __init__(self, session: NextcloudSession, rel: str, offset: int):
        self.s, self.rel, self.size = session, rel, session.expected_size
        self.confirmed = offset
        self.folder = session.upload_folder(rel)
        self.dest = {"Destination": session.url(rel)}
        self.current: _PutWriter | None = None
        self.left = 0  # bytes still due in the chunk being sent
        self.started = False
        self.single = offset == 0 and self.size is not None and self.size <= session.chunk
        if self.single:
            self.current = _PutWriter(session, session.url(rel), length=self.size)
            self.left = self.size or 0

    @property
    def progress(self) -> int:
        return self.confirmed + (self.current.handed if self.current else 0)

    def _next_chunk(self) -> None:
        if not self.started:
            self.s._req("MKCOL", self.folder + "/", ok=(201, 405), headers=self.dest)
            self.started = True
        size = self.size if self.size is not None else self.confirmed + self.s.chunk
        self.left = min(self.s.chunk, size - self.confirmed)
        number = self.confirmed // self.s.chunk + 1
        self.current = _PutWriter(
            self.s, f"{self.folder}/{number}", headers=self.dest, length=self.left
        )

    def _end_chunk(self) -> None:
        assert self.current is not None
        self.current.finish()
        self.confirmed += self.current.confirmed
        self.current = None

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self.current is None:
                self._next_chunk()
            assert self.current is not None
            piece = bytes(view[: self.left])
            self.current.write(piece)
            self.left -= len(piece)
            view = view[len(piece) :]
            if self.left == 0 and not self.single:
                self._end_chunk()

    def finish(self) -> None:
        if self.single:
            assert self.current is not None
            self._end_chunk()
            return
        if self.current is not None:
            raise TransientError(f"{self.rel}: the file ended inside a chunk")
        self.s._req(
            "MOVE",
            self.folder + "/.file",
            ok=(201, 204),
            headers={**self.dest, "OC-Total-Length": str(self.confirmed), "Overwrite": "T"},
        )


def _parse(scheme: str, default_port: int):
    def parse(text: str) -> Target:
        u, port = server_url(text, 80 if text.lower().startswith("dav:") else default_port)
        scheme = u.scheme.lower()
        if not u.username:
            raise UserError(f"{text}: name the user, as in {scheme}://USER@{u.hostname}/folder.")
        return Target(
            scheme,
            host=u.hostname or "",
            port=port,
            user=unquote(u.username),
            path=absolute_path(u.path, text),
        )

    return parse


for _schemes, _title, _session in (
    (("davs", "dav"), "WebDAV", DavSession),
    (("nextcloud",), "Nextcloud", NextcloudSession),
):
    register(
        TargetKind(
            _schemes,
            _title,
            _parse(_schemes[0], 443),
            open_session=_session,
            options=DavOptions,
            url=address_of(_schemes[0]),
            default_port=443,
        )
    )
