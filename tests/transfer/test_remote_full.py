"""A destination that fills up in the middle of a send: stop at once with one line, keep what
arrived, and finish byte-identical once space is freed.  The server's disk is a real small tmpfs
mounted under the folder sshd and the FTP server write to; something else fills it mid-transfer.
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aqqua_packer.problems import UserError
from aqqua_packer.progress import Task
from aqqua_packer.transfer import RemoteFullError, RemoteQuotaError, SendOptions, send_package

from .conftest import assert_identical, make_package
from .servers import TEST_PASSWORD, TEST_USER, traversable

pytestmark = pytest.mark.slow

DISK = 6 << 20  # the server's disk: room for a third of the package's big file at most


@pytest.fixture
def small_disk(srv_tmp):
    """A 6 MiB tmpfs that the test user owns, mounted for this test only (needs root and mount)."""
    disk = srv_tmp / "disk"
    disk.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK},mode=0755", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"absent: permission to mount a small tmpfs ({done.stderr.strip()})")
    try:
        entry = pwd.getpwnam(TEST_USER)
        os.chown(disk, entry.pw_uid, entry.pw_gid)
        traversable(disk)
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.fixture
def full_package(tmp_path) -> Path:
    return make_package(tmp_path, {"a-images-000.lmdb/data.mdb": 3_000_000, "b.parquet": 1_000_000})


class Filler:
    """Fills the destination's disk (another user's upload) once ``after`` bytes were sent."""

    def __init__(self, disk: Path, after: int):
        self.disk, self.after, self.filled = disk, after, False
        self.file = disk / "someone-elses-upload.bin"

    def __call__(self, ev) -> None:
        if not self.filled and ev.bytes_done >= self.after:
            self.filled = True
            with self.file.open("wb") as fh:
                try:
                    while True:
                        fh.write(b"\0" * 65536)
                        fh.flush()
                except OSError:
                    pass

    def free(self) -> None:
        self.file.unlink()


def _bounded(t0: float, interruptions: int) -> None:
    assert interruptions == 0, "a full disk is not an interruption to retry"
    assert time.monotonic() - t0 < 20


def test_sftp_full_remote_disk_stops_at_once_and_resumes_identical_after_freeing_space(
    sshd, small_disk, full_package, tmp_path
):
    known = tmp_path / "kh"
    known.write_text(sshd.host_key_line())
    url = sshd.url(str(small_disk))
    fill = Filler(small_disk, 1_000_000)
    opts = SendOptions(
        identity=sshd.client_key, known_hosts=known, backoff_base=0.05, backoff_max=0.2
    )
    logins_before = (sshd.root / "sshd.log").read_text().count("Accepted publickey")
    t0 = time.monotonic()
    with pytest.raises(RemoteFullError) as err:
        send_package(full_package, url, opts, Task(on_event=fill))
    took = time.monotonic() - t0
    message = str(err.value)
    assert fill.filled and took < 20, took
    assert "\n" not in message and "the destination is full" in message
    assert "run the same command again" in message and err.value.exit_code == 4
    logins = (sshd.root / "sshd.log").read_text().count("Accepted publickey") - logins_before
    assert logins == 1, f"{logins} logins: a full disk must not be retried"
    kept = sum(p.stat().st_size for p in (small_disk / full_package.name).rglob("*.part"))
    assert kept >= 500_000  # what arrived stays for the resume
    fill.free()
    result = send_package(full_package, url, opts)
    assert result.complete
    assert_identical(full_package, small_disk / full_package.name)
    assert result.bytes_sent <= 4_000_000 + 1000 - kept  # the rest, not again


def _sftp_send(sshd, package, folder, known, *extra: str) -> list[str]:
    """`aqqua-packer send PACKAGE sftp://…` as a user types it, with the test server's keys."""
    return [
        sys.executable,
        "-m",
        "aqqua_packer",
        "send",
        str(package),
        sshd.url(str(folder)),
        "--identity",
        str(sshd.client_key),
        "--known-hosts",
        str(known),
        *extra,
    ]


def test_sftp_full_disk_from_the_cli_is_one_line_and_exit_4(
    sshd, small_disk, full_package, tmp_path
):
    known = tmp_path / "kh"
    known.write_text(sshd.host_key_line())
    (small_disk / "someone-elses-upload.bin").write_bytes(b"\0" * (DISK - 2_000_000))
    # statvfs says it fits no longer, so the send refuses before the first byte: same one line
    done = subprocess.run(
        _sftp_send(sshd, full_package, small_disk, known),
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("aqqua-packer:")]
    assert done.returncode == 4, done.stderr
    assert len(lines) == 1 and "the destination is full" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_sftp_disk_filling_up_mid_send_from_the_cli_is_one_line_exit_4_and_one_login(
    sshd, small_disk, full_package, tmp_path
):
    known = tmp_path / "kh"
    known.write_text(sshd.host_key_line())
    fill = Filler(small_disk, 1_000_000)
    logins_before = (sshd.root / "sshd.log").read_text().count("Accepted publickey")
    t0 = time.monotonic()
    proc = subprocess.Popen(
        _sftp_send(sshd, full_package, small_disk, known, "--json-progress", "--bwlimit", "2M"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    said = []
    for line in proc.stderr:
        if line.startswith("{"):
            fill(type("Event", (), json.loads(line)))
        else:
            said.append(line.rstrip("\n"))
    proc.wait(60)
    assert fill.filled and proc.returncode == 4, said
    assert len(said) == 1 and said[0].startswith("aqqua-packer: ") and "is full" in said[0], said
    assert time.monotonic() - t0 < 30
    logins = (sshd.root / "sshd.log").read_text().count("Accepted publickey") - logins_before
    assert logins == 1, f"{logins} logins: a full disk must not be retried"
    fill.free()
    result = send_package(
        full_package,
        sshd.url(str(small_disk)),
        SendOptions(identity=sshd.client_key, known_hosts=known),
    )
    assert result.complete
    assert_identical(full_package, small_disk / full_package.name)


def test_ftp_full_remote_disk_stops_at_once_and_resumes_identical_after_freeing_space(
    small_disk, full_package
):
    from .servers import FTPServer

    home = small_disk / "ftp"
    home.mkdir()
    server = FTPServer(home).start()
    try:
        url = server.url("/in")
        fill = Filler(small_disk, 1_000_000)
        opts = SendOptions(password=TEST_PASSWORD, backoff_base=0.05, backoff_max=0.2)
        t0 = time.monotonic()
        with pytest.raises(RemoteFullError) as err:
            send_package(full_package, url, opts, Task(on_event=fill))
        assert fill.filled and time.monotonic() - t0 < 20
        assert "\n" not in str(err.value) and "the destination is full" in str(err.value)
        assert "No space left" in str(err.value)  # the server's own words, for AqQua
        fill.free()
        result = send_package(full_package, url, opts)
        assert result.complete, result.stopped
        assert_identical(full_package, home / "in" / full_package.name)
    finally:
        server.stop()


def test_drive_filling_up_mid_copy_stops_at_once_and_resumes_identical(small_disk, full_package):
    fill = Filler(small_disk, 1_000_000)
    with pytest.raises(RemoteFullError) as err:
        send_package(full_package, str(small_disk), SendOptions(), Task(on_event=fill))
    assert "the destination is full" in str(err.value)
    fill.free()
    assert send_package(full_package, str(small_disk), SendOptions()).complete
    assert_identical(full_package, small_disk / full_package.name)


def test_ftp_server_failing_every_write_without_saying_why_is_given_up_after_the_retries(
    small_disk, full_package
):
    """pyftpdlib answers a full disk "426 None": nothing says "full", so the bound must stop it:
    bytes sent and lost do not count as progress, so --retries N attempts end the send."""
    from .servers import FTPServer

    home = small_disk / "ftp"
    home.mkdir()
    server = FTPServer(home, says_disk_full=False).start()
    try:
        fill = Filler(small_disk, 1_000_000)
        opts = SendOptions(password=TEST_PASSWORD, backoff_base=0.01, backoff_max=0.05, retries=4)
        t0 = time.monotonic()
        result = send_package(full_package, server.url("/in"), opts, Task(on_event=fill))
        assert fill.filled and not result.complete and result.exit_code == 75
        assert result.interruptions == 5, result.interruptions  # the first, then 4 retries
        assert "without more bytes arriving" in result.stopped
        assert time.monotonic() - t0 < 20
        fill.free()
        assert send_package(full_package, server.url("/in"), opts).complete
        assert_identical(full_package, home / "in" / full_package.name)
    finally:
        server.stop()


def test_a_failing_server_is_given_up_after_give_up_after_seconds_even_with_retries_left(
    small_disk, full_package
):
    from .servers import FTPServer

    home = small_disk / "ftp"
    home.mkdir()
    server = FTPServer(home, says_disk_full=False).start()
    try:
        fill = Filler(small_disk, 1_000_000)
        opts = SendOptions(
            password=TEST_PASSWORD,
            backoff_base=0.2,
            backoff_max=0.2,
            retries=1000,
            give_up_after=1.5,
        )
        t0 = time.monotonic()
        result = send_package(full_package, server.url("/in"), opts, Task(on_event=fill))
        took = time.monotonic() - t0
        assert not result.complete and "without more bytes arriving" in result.stopped
        assert 1.5 <= took < 10 and result.interruptions < 50
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("answer", "error", "says"),
    [
        ("452 Insufficient storage space in system.", RemoteFullError, "the destination is full"),
        ("552 Exceeded storage allocation.", RemoteQuotaError, "(quota) there is probably used up"),
        ("452 Disk quota exceeded", RemoteQuotaError, "(quota) there is probably used up"),
        ("553 Permission denied.", UserError, "refused to store"),
    ],
)
def test_ftp_answers_that_retrying_cannot_change_stop_at_once_with_their_own_message(
    tmp_path, full_package, answer, error, says
):
    from .servers import FTPServer

    server = FTPServer(tmp_path / "ftp", refuse_stor=answer).start()
    try:
        opts = SendOptions(password=TEST_PASSWORD, backoff_base=0.01, backoff_max=0.05)
        with pytest.raises(error) as err:
            send_package(full_package, server.url("/in"), opts)
    finally:
        server.stop()
    assert says in str(err.value) and "\n" not in str(err.value)
    assert server.stor_refusals == 1  # asked once: not retried
