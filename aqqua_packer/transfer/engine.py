"""The one engine behind every target: resume from what the server holds, verify, manifest last.

Per file: skip it if the journal says it arrived; otherwise ask the server how much of the
temporary ``.NAME.<sha>.part`` it holds, send the rest, check its size and content (sha256 on the
server where it can, else sampled ranges read back), rename it to its final name and journal it.
The manifest goes last, after a size check of every other file, so its arrival means the package
is complete.  A dropped connection is retried with exponential backoff and jitter; what the
server confirmed is never sent again.  Retrying is bounded: ``retries`` failed attempts in a row,
or ``give_up_after`` seconds, without a byte more durably at the server (bytes sent and then lost
do not count), and an answer retrying cannot change (destination full, quota, permission) stops
at once.  Each local file is checked against the manifest before it is sent.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..problems import UserError
from ..progress import Cancelled, Task, null_task
from .base import RateLimiter, SendOptions, Session, TransientError
from .journal import Journal, journal_path
from .manifest import LocalPackage, PackageFile, read_package
from .target import Target, kind_for, parse_target

log = logging.getLogger("aqqua_packer.transfer")

EXIT_INCOMPLETE = 75  # EX_TEMPFAIL: "not finished, run the same command again"
RANGE = 64 * 1024
CHECKPOINT_SECONDS = 1.0
_PART = re.compile(r"^\..+\.[0-9a-f]{12}\.part$")  # ".NAME.<sha256 prefix>.part"


@dataclass(frozen=True)
class FileState:
    """One file of a package as the journal knows it: pending, partial or arrived (and how checked)."""

    path: str
    size: int
    sha256: str
    state: str  # "pending", "partial", "arrived"
    confirmed: int  # bytes the server acknowledged
    verified_by: str = ""  # "sha256", "ranges", "size" once arrived


@dataclass
class Plan:
    """What a send would do, from the journal alone (no network): for the GUI's file list."""

    package: LocalPackage
    target: Target
    journal: Path
    files: list[FileState]

    @property
    def bytes_total(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def bytes_arrived(self) -> int:
        return sum(f.size if f.state == "arrived" else f.confirmed for f in self.files)

    @property
    def complete(self) -> bool:
        return all(f.state == "arrived" for f in self.files)


@dataclass
class SendResult:
    """What happened: which files arrived and how they were verified, and whether to run again."""

    package: Path
    target: str
    journal: Path
    files: list[FileState]
    complete: bool
    stopped: str  # "complete", "time limit", "gave up for now: …", "handed off to Globus"
    bytes_sent: int = 0  # payload bytes this run put on the wire (resent bytes included)
    interruptions: int = 0
    elapsed: float = 0.0
    notes: list[str] = field(default_factory=list)
    handed_off: bool = False  # Globus: staged (and maybe submitted); AqQua's side finishes it

    @property
    def bytes_total(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def exit_code(self) -> int:
        return 0 if self.complete or self.handed_off else EXIT_INCOMPLETE


def _states(pkg: LocalPackage, journal: Journal) -> list[FileState]:
    out = []
    for f in pkg.all_files:
        rec = journal.files.get(f.path)
        if rec is not None and rec.done:
            out.append(FileState(f.path, f.size, f.sha256, "arrived", f.size, rec.verified_by))
        elif rec is not None and rec.confirmed > 0:
            out.append(FileState(f.path, f.size, f.sha256, "partial", min(rec.confirmed, f.size)))
        else:
            out.append(FileState(f.path, f.size, f.sha256, "pending", 0))
    return out


def plan(package: Path, target: str | Target) -> Plan:
    pkg = read_package(package)
    tgt = parse_target(target) if isinstance(target, str) else target
    path = journal_path(pkg, tgt)
    return Plan(pkg, tgt, path, _states(pkg, Journal.load(path)))


def _transient_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [TransientError, OSError, EOFError]
    try:
        import paramiko

        errors.append(paramiko.SSHException)
    except ImportError:  # pragma: no cover - paramiko is a dependency
        pass
    import ftplib

    errors += [ftplib.error_temp, ftplib.error_reply, ftplib.error_proto]
    return tuple(errors)


def _open_session(target: Target, options: SendOptions) -> Session:
    """Connect the way the target's kind says (see ``target.KIND_MODULES``)."""
    kind = kind_for(target.scheme)
    if kind.open_session is None:
        raise UserError(
            f"{target}: cannot send there through a connection ({kind.label} works differently)."
        )
    return kind.open_session(target, options)


open_session = _open_session  # the public name (the GUI's connection test)


def sample_ranges(f: PackageFile) -> list[tuple[int, int]]:
    """Where to read a file back when the server cannot hash: start, end and six places between."""
    if f.size <= 16 * RANGE:
        return [(0, f.size)]
    rng = random.Random(f.sha256)
    offsets = {0, f.size - RANGE} | {rng.randrange(0, f.size - RANGE) for _ in range(6)}
    return [(o, RANGE) for o in sorted(offsets)]


class _TimeUp(Exception):
    pass


def send_package(
    package: Path,
    target: str | Target,
    options: SendOptions | None = None,
    task: Task | None = None,
) -> SendResult:
    """Send (or resume sending) ``package`` to ``target``; see the module docstring."""
    options = options or SendOptions()
    task = task or null_task()
    pkg = read_package(package)
    tgt = parse_target(target) if isinstance(target, str) else target
    kind = kind_for(tgt.scheme)
    if kind.before_send is not None:
        kind.before_send(pkg, tgt)
    if kind.send is not None:  # a hand-off (Globus) or an external tool (rclone)
        return kind.send(pkg, tgt, options, task)
    return send_with_session(pkg, tgt, options, task)


def send_with_session(
    pkg: LocalPackage, tgt: Target, options: SendOptions, task: Task
) -> SendResult:
    """Drive the target's ``Session``: the engine's loop (Globus stages through it onto a drive)."""
    return _Run(pkg, tgt, options, task).go()


class _Run:
    def __init__(self, pkg: LocalPackage, tgt: Target, options: SendOptions, task: Task):
        self.pkg, self.tgt, self.options, self.task = pkg, tgt, options, task
        self.journal = Journal.load(journal_path(pkg, tgt))
        self.limiter = RateLimiter(options.bwlimit, task)
        self.bytes_sent = 0
        self.interruptions = 0
        self.notes: list[str] = []
        self.shown: dict[str, int] = {}
        self.bad_content: dict[str, int] = {}
        self.deadline = (
            time.monotonic() + options.unattended_for if options.unattended_for else None
        )
        self.preflight_done = False
        self.last_checkpoint = 0.0
        self.file_event_at = 0.0
        self.pending: list = []  # (file, temporary name, final name, hash answer) being verified
        self.durable: dict[str, int] = {}  # bytes of each file known to be held by the server
        self.checked: set[str] = set()  # local files whose sha256 matched the manifest this run

    # --- progress -----------------------------------------------------------------------------
    def _arrived(self, f: PackageFile) -> int:
        rec = self.journal.files.get(f.path)
        if rec is None:
            return 0
        return f.size if rec.done else min(rec.confirmed, f.size)

    def _show(self, f: PackageFile, confirmed: int, *, sent: bool = True) -> None:
        """Move the bar to ``confirmed`` bytes of ``f``; ``sent=False`` when the bytes were found
        at the server (or lost there), not sent by this run, so they do not count in the rate."""
        delta = confirmed - self.shown.get(f.path, 0)
        if delta:
            self.shown[f.path] = confirmed
            self.task.advance(0, delta, sent=sent)
            now = time.monotonic()
            if self.options.on_file is not None and (
                now - self.file_event_at >= 0.1 or confirmed in (0, f.size)
            ):
                self.file_event_at = now
                self.options.on_file(
                    FileState(
                        f.path, f.size, f.sha256, "partial" if confirmed else "pending", confirmed
                    )
                )

    def _arrived_event(self, f: PackageFile, how: str) -> None:
        if self.options.on_file is not None:
            self.options.on_file(FileState(f.path, f.size, f.sha256, "arrived", f.size, how))

    def _held(self, f: PackageFile, n: int) -> None:
        """The server holds ``n`` bytes of ``f`` (it acknowledged them, or said so after a reconnect)."""
        self.durable[f.path] = max(self.durable.get(f.path, 0), n)

    def _durable_total(self) -> int:
        return sum(self.durable.values())

    def _confirm(self, f: PackageFile, n: int) -> None:
        self._held(f, n)
        rec = self.journal.files.get(f.path)
        if rec is None or rec.confirmed != n:
            self.journal.record("confirmed", f.path, n=n)
        if n > self.shown.get(f.path, 0):
            self._show(f, n)

    def _check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise _TimeUp

    # --- the loop -------------------------------------------------------------------------------
    def go(self) -> SendResult:
        t0 = time.monotonic()
        opts = self.options
        self.journal.lock()
        self.journal.record(
            "begin",
            package=self.pkg.name,
            target=self.tgt.canonical,
            manifest=self.pkg.manifest.sha256,
        )
        files = self.pkg.all_files
        for f in files:
            if f.path not in self.journal.files:
                self.journal.record("file", f.path, size=f.size, sha256=f.sha256)
            self.shown[f.path] = self._arrived(f)
            self.durable[f.path] = self.shown[f.path]
        self.task.start(
            "send",
            total=len(files),
            unit="files",
            done=sum(
                1
                for f in files
                if self.journal.files.get(f.path, None) and self.journal.files[f.path].done
            ),
            bytes_total=self.pkg.total_bytes,
            bytes_done=sum(self.shown.values()),
            message=f"sending {self.pkg.name} to {self.tgt}",
        )
        transient = _transient_errors()
        session: Session | None = None
        failures = 0
        mark = self._durable_total()
        progress_at = time.monotonic()
        lost_passes = 0
        stopped = "complete"
        complete = False
        try:
            while True:
                try:
                    self._check_deadline()
                    if session is None:
                        self.task.status(f"connecting to {self.tgt}")
                        session = _open_session(self.tgt, opts)
                    if self._pass(session):
                        complete = True
                        break
                    lost_passes += 1  # files that had arrived went missing: bounded like the rest
                    if lost_passes > opts.retries and self.deadline is None:
                        stopped = (
                            f"gave up for now: files that had arrived went missing at the server "
                            f"{lost_passes} times"
                        )
                        break
                except _TimeUp:
                    stopped = "time limit"
                    break
                except (UserError, Cancelled):
                    raise
                except transient as exc:
                    self.interruptions += 1
                    reason = _describe(exc)
                    log.info("transfer interrupted: %s", reason)
                    if session is not None:
                        _quietly_close(session)
                        session = None
                    # only bytes the server holds count as progress: bytes sent and then lost (a
                    # full disk, a link that drops each time) must not keep the retries going
                    progress = self._durable_total()
                    if progress > mark:
                        failures, mark, progress_at = 1, progress, time.monotonic()
                    else:
                        failures += 1
                    stalled = time.monotonic() - progress_at
                    # unattended (cron) runs use their whole time window; others give up for now
                    if self.deadline is None and (
                        failures > opts.retries or stalled > opts.give_up_after
                    ):
                        stopped = (
                            f"gave up for now after {failures} attempts in {stalled / 60:.0f} min "
                            f"without more bytes arriving ({reason})"
                        )
                        break
                    d = min(opts.backoff_max, opts.backoff_base * 2 ** (failures - 1))
                    delay = d / 2 + random.uniform(0, d / 2)
                    self.task.status(f"connection lost ({reason}); trying again in {delay:.0f} s")
                    try:
                        self._sleep(delay)
                    except _TimeUp:
                        stopped = "time limit"
                        break
        finally:
            if session is not None:
                _quietly_close(session)
            self.journal.close()
        states = _states(self.pkg, self.journal)
        n_done = sum(1 for s in states if s.state == "arrived")
        self.task.finish(
            f"{self.pkg.name}: all {n_done} files arrived and verified"
            if complete
            else f"{self.pkg.name}: {n_done} of {len(states)} files arrived; stopped ({stopped}); run again to continue"
        )
        return SendResult(
            package=self.pkg.root,
            target=self.tgt.canonical,
            journal=self.journal.path,
            files=states,
            complete=complete,
            stopped=stopped,
            bytes_sent=self.bytes_sent,
            interruptions=self.interruptions,
            elapsed=time.monotonic() - t0,
            notes=self.notes,
        )

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.task.check()
            self._check_deadline()
            time.sleep(min(0.1, left))

    # --- one pass over the package (ends at the first error) -----------------------------------
    def _pass(self, session: Session) -> bool:
        pkg = self.pkg
        remaining = [f for f in pkg.files if not self._done(f)]
        if not self.preflight_done:
            left = sum(f.size - self._arrived(f) for f in (*remaining, pkg.manifest))
            session.preflight(pkg, left, max((f.size for f in pkg.all_files), default=0))
            self.preflight_done = True
        dirs = {posixpath.dirname(f"{pkg.name}/{f.path}") for f in remaining} | {pkg.name}
        for d in sorted(dirs):
            session.mkdirs(d)
        self.pending = []
        for f in remaining:
            self._send_file(session, f)
        while self.pending:
            self._collect_one(session)
        # every data file must be where it belongs before the manifest says "complete"
        self.task.status("checking every file's size at the server")
        missing = [f for f in pkg.files if session.size(f"{pkg.name}/{f.path}") != f.size]
        if not missing:
            if (
                not self._done(pkg.manifest)
                or session.size(f"{pkg.name}/{pkg.manifest.path}") != pkg.manifest.size
            ):
                if self._done(pkg.manifest):
                    self.journal.record("reset", pkg.manifest.path)
                self._send_file(session, pkg.manifest)
            self._tidy(session)
            session.complete(pkg)
            self.journal.record("complete")
            return True
        for f in missing:
            note = f"{f.path} was missing at the server although it had arrived before; sending it again"
            self.notes.append(note)
            self.options.warn(note)
            self.journal.record("reset", f.path)
            self.task.advance(-1)
            self.durable[f.path] = 0
            self._show(f, 0, sent=False)
        return False

    def _tidy(self, session: Session) -> None:
        """Remove temporary files that earlier attempts (of an earlier packing) left at the target;
        best effort: a server that cannot list folders keeps them, and they harm nothing."""
        folders = {posixpath.dirname(f"{self.pkg.name}/{f.path}") for f in self.pkg.all_files}
        for folder in sorted(folders):
            try:
                names = session.listdir(folder)
            except (OSError, EOFError, *_transient_errors()) as exc:
                log.info("could not list %s to tidy it: %s", folder, exc)
                continue
            for name in names:
                if _PART.match(name):
                    try:
                        session.remove(f"{folder}/{name}")
                    except (OSError, EOFError, *_transient_errors()) as exc:
                        log.info("could not remove %s/%s: %s", folder, name, exc)

    def _done(self, f: PackageFile) -> bool:
        rec = self.journal.files.get(f.path)
        return bool(rec and rec.done)

    def _send_file(self, session: Session, f: PackageFile) -> None:
        pkg, opts, task = self.pkg, self.options, self.task
        final = f"{pkg.name}/{f.path}"
        d, base = posixpath.split(final)
        tmp = f"{d}/.{base}.{f.sha256[:12]}.part"
        self._check_local(f)
        task.status(f"sending {f.path}")
        if hasattr(session, "expect"):  # WebDAV: Content-Length; Nextcloud: chunks, torn PUTs
            session.expect(f.size)
        if session.size(final) == f.size:  # arrived before the journal could say so
            how = self._verify(session, final, f)
            if how:
                self.journal.record("done", f.path, n=f.size, how=how)
                self._arrived_event(f, how)
                self._held(f, f.size)
                self._show(f, f.size, sent=False)
                task.advance(1)
                return
        start = session.size(tmp)
        if start and not getattr(session, "resumes_partial", True):  # WebDAV: PUT cannot append
            session.remove(tmp)
            start = None
        if start is not None and start > f.size:
            session.remove(tmp)
            start = None
        rec = self.journal.files.get(f.path)
        if rec is not None and start is not None and start < rec.confirmed:
            self.notes.append(
                f"{f.path}: the server had lost {rec.confirmed - start} bytes it had confirmed"
            )
        self.journal.record("attempt", f.path, offset=start or 0)
        if start is None or start < f.size:
            pos = start or 0
            self._held(f, pos)
            self._show(f, pos, sent=False)
            writer = session.open_write(tmp, pos)
            step = min(session.piece_size, opts.chunk_size)
            next_checkpoint = pos + opts.chunk_size
            try:
                with pkg.local(f).open("rb") as fh:
                    fh.seek(pos)
                    while pos < f.size:
                        task.check()
                        self._check_deadline()
                        buf = fh.read(min(step, f.size - pos))
                        if not buf:
                            raise UserError(
                                f"{pkg.local(f)}: the file became shorter while it was being sent; repack the package."
                            )
                        self.limiter.take(len(buf))
                        writer.write(buf)
                        pos += len(buf)
                        self.bytes_sent += len(buf)
                        self._show(f, writer.progress)
                        if pos >= next_checkpoint:
                            next_checkpoint = pos + opts.chunk_size
                            # journal what the server confirmed at most once a second: an fsync per
                            # chunk would cost a tenth of the speed, and resuming asks the server anyway
                            now = time.monotonic()
                            if now - self.last_checkpoint >= CHECKPOINT_SECONDS:
                                self.last_checkpoint = now
                                writer.checkpoint()
                                self._confirm(f, writer.confirmed)
            except (Cancelled, _TimeUp):
                # stopping on purpose: journal what the server confirmed, for plan() and the GUI
                writer.checkpoint()
                self._confirm(f, writer.confirmed)
                raise
            writer.finish()
        size = session.size(tmp)
        if size != f.size:
            raise TransientError(f"{f.path}: the server holds {size} of its {f.size} bytes")
        self._confirm(f, size)
        if session.can_hash_remotely and opts.verify == "auto" and f != pkg.manifest:
            # the server hashes this file while the next one uploads; collected before the manifest
            self.pending.append((f, tmp, final, session.start_sha256(tmp, f.size)))
            while len(self.pending) > 2:
                self._collect_one(session)
            return
        task.status(f"verifying {f.path}")
        self._arrive(session, f, tmp, final, self._verify(session, tmp, f))

    def _check_local(self, f: PackageFile) -> None:
        """Refuse to send a local file that differs from the manifest (damaged after packing):
        sending it would only end in the server being blamed for the difference."""
        if f.path in self.checked or f == self.pkg.manifest:
            return
        path = self.pkg.local(f)
        self.task.status(f"checking {f.path} against the manifest")
        h = hashlib.sha256()
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(4 << 20):
                    self.task.check()
                    h.update(chunk)
        except OSError as exc:
            raise UserError(
                f"{path}: cannot read this package file ({exc.strerror or exc})."
            ) from exc
        if h.hexdigest() != f.sha256:
            raise UserError(
                f"{path}: this file of the package is damaged on this computer (its sha256 differs from "
                f"the one in {self.pkg.manifest.path}). Nothing of it was sent. Run `aqqua-packer verify "
                f"{self.pkg.root}`, then pack again from the original data (or restore the package from a copy)."
            )
        self.checked.add(f.path)

    def _collect_one(self, session: Session) -> None:
        f, tmp, final, answer = self.pending.pop(0)
        self.task.status(f"verifying {f.path}")
        digest = answer()
        if digest is not None:
            how = "sha256" if digest == f.sha256 else None
        else:
            how = self._verify(session, tmp, f)
        self._arrive(session, f, tmp, final, how)

    def _arrive(
        self, session: Session, f: PackageFile, tmp: str, final: str, how: str | None
    ) -> None:
        """Rename a checked file to its final name, or throw away a damaged one and send it again."""
        if how is None:
            session.remove(tmp)
            self.journal.record("reset", f.path)
            self.durable[f.path] = 0
            self._show(f, 0, sent=False)
            self.bad_content[f.path] = self.bad_content.get(f.path, 0) + 1
            if self.bad_content[f.path] >= 2:
                raise UserError(
                    f"{f.path}: arrived damaged twice (its content at the server differs from the package). "
                    "Check the package with `aqqua-packer verify` and tell AqQua about the server."
                )
            raise TransientError(f"{f.path}: the content at the server differs; sending it again")
        session.rename(tmp, final)
        self.journal.record("done", f.path, n=f.size, how=how)
        self._arrived_event(f, how)
        self.task.advance(1)

    def _verify(self, session: Session, rel: str, f: PackageFile) -> str | None:
        """How the file was checked ("sha256", "ranges", "size"), or None if its content differs."""
        if self.options.verify == "size":
            return "size"
        if session.can_hash_remotely:
            digest = session.sha256(rel, f.size)
            if digest is not None:
                return "sha256" if digest == f.sha256 else None
        if f.path == self.pkg.manifest.path:  # small: read it all back
            return (
                "sha256"
                if hashlib.sha256(session.read_range(rel, 0, f.size)).hexdigest() == f.sha256
                else None
            )
        with self.pkg.local(f).open("rb") as fh:
            for offset, n in sample_ranges(f):
                fh.seek(offset)
                if session.read_range(rel, offset, n) != fh.read(n):
                    return None
        return "ranges"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


def _quietly_close(session: Session) -> None:
    try:
        session.close()
    except Exception as exc:  # closing a dead connection may fail in many ways; nothing to do
        log.debug("closing the session failed: %s", exc)
