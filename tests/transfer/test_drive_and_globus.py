"""Copying to a hard drive (a local folder) and staging for Globus; the CLI's exit codes for cron."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aqqua_packer.problems import UserError
from aqqua_packer.transfer import EXIT_INCOMPLETE, SendOptions, plan, send_package
from aqqua_packer.transfer.drive import fat32_problem

from .conftest import assert_identical, make_package, sha256


def test_drive_copy_is_verified_by_reading_back_and_gets_a_readme(small_package, tmp_path):
    drive = tmp_path / "usb"
    drive.mkdir()
    result = send_package(small_package, str(drive))
    assert result.complete and {f.verified_by for f in result.files} == {"sha256"}
    assert_identical(small_package, drive / small_package.name)
    readme = (drive / "README.txt").read_text()
    assert small_package.name in readme and "sha256sum -c manifest.sha256" in readme
    assert send_package(small_package, str(drive)).bytes_sent == 0


def test_drive_readme_never_overwrites_someone_elses(small_package, tmp_path):
    (tmp_path / "README.txt").write_text("my thesis notes")
    send_package(small_package, str(tmp_path))
    assert (tmp_path / "README.txt").read_text() == "my thesis notes"
    assert "AqQua" in (tmp_path / "README-AqQua.txt").read_text()


def test_a_drive_without_room_is_refused_before_copying(tmp_path):
    pkg = make_package(tmp_path / "p", {"a.bin": 1000})
    huge = pkg / "huge.lmdb"
    with huge.open("wb") as fh:  # sparse: far more than this disk holds, costs nothing
        fh.truncate(1 << 43)
    with (pkg / "manifest.sha256").open("a") as fh:
        fh.write("0" * 64 + "  huge.lmdb\n")
    drive = tmp_path / "drive"
    with pytest.raises(UserError, match="GB free but the package needs"):
        send_package(pkg, str(drive))
    assert not (drive / pkg.name).exists()


def test_fat32_with_a_file_of_4_gib_or_more_gets_a_clear_message():
    msg = fat32_problem("vfat", 5 * 1024**3, Path("/media/USB"))
    assert msg and "FAT32" in msg and "exFAT" in msg
    assert fat32_problem("vfat", 4 * 1024**3 - 1, Path("/m")) is None
    assert fat32_problem("exfat", 5 * 1024**3, Path("/m")) is None


def test_sending_a_package_into_itself_is_refused(small_package):
    with pytest.raises(UserError, match="package itself"):
        send_package(small_package, str(small_package.parent))


def test_cli_stops_cleanly_when_unattended_time_is_up_and_resumes(big_package, tmp_path, survived):
    """cron: --unattended-for ends the run with exit 75 ("run again"); the next run finishes."""
    drive = tmp_path / "drive"
    cmd = [
        sys.executable,
        "-m",
        "aqqua_packer",
        "send",
        str(big_package),
        str(drive),
        "--bwlimit",
        "8M",
        "--unattended-for",
        "2s",
    ]
    t0 = time.monotonic()
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    took = time.monotonic() - t0
    assert first.returncode == EXIT_INCOMPLETE, first.stderr
    assert "Run the same command again" in first.stdout
    assert 2 <= took < 15
    p = plan(big_package, str(drive))
    # about 2 s at 8 MiB/s arrived: the bandwidth limit held
    assert 4_000_000 < p.bytes_arrived < 24_000_000
    second = subprocess.run(
        cmd[:-4] + ["--json-progress"], capture_output=True, text=True, timeout=120
    )
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout.strip().splitlines()[-1])
    survived(1)
    assert (
        summary["complete"]
        and summary["bytes_sent"] <= big_package_size(big_package) - p.bytes_arrived
    )
    assert_identical(big_package, drive / big_package.name)


def big_package_size(pkg: Path) -> int:
    return sum(p.stat().st_size for p in pkg.rglob("*") if p.is_file())


def test_drive_copy_killed_with_sigkill_resumes(big_package, tmp_path, survived):
    drive = tmp_path / "drive"
    cmd = [
        sys.executable,
        "-m",
        "aqqua_packer",
        "send",
        str(big_package),
        str(drive),
        "--json-progress",
        "--bwlimit",
        "30M",
    ]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    for line in proc.stderr:
        if line.startswith("{") and json.loads(line)["bytes_done"] > 25_000_000:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    before = plan(big_package, str(drive))
    result = send_package(big_package, str(drive), SendOptions())
    survived(1)
    assert result.complete
    assert result.bytes_sent <= before.bytes_total - before.bytes_arrived + SendOptions().chunk_size
    assert_identical(big_package, drive / big_package.name)


def test_globus_stages_by_hard_links_and_writes_batch_and_checksums(small_package, tmp_path):
    share = small_package.parent / "globus-share"  # same disk as the package: hard links
    share.mkdir(exist_ok=True)
    result = send_package(
        small_package, "globus://aaaa-bbbb/aqqua/incoming/", SendOptions(globus_share=share)
    )
    assert result.handed_off and result.exit_code == 0 and not result.complete
    staged = share / small_package.name
    assert_identical(small_package, staged)
    assert os.path.samefile(staged / "image-set.toml", small_package / "image-set.toml")
    batch = (share / f"{small_package.name}.globus-batch.txt").read_text().splitlines()
    assert f"{small_package.name}/manifest.sha256 {small_package.name}/manifest.sha256" in batch
    sums = (share / f"{small_package.name}.checksums.sha256").read_text()
    assert (
        f"{sha256(small_package / 'manifest.sha256')}  {small_package.name}/manifest.sha256" in sums
    )
    steps = "\n".join(result.notes)
    assert (
        "globus transfer --batch" in steps
        and "aaaa-bbbb:/aqqua/incoming/" in steps
        and "--verify-checksum" in steps
    )


def test_globus_without_a_shared_folder_says_how_to_find_it(small_package, monkeypatch, tmp_path):
    monkeypatch.setattr("aqqua_packer.transfer.globus.GCP_PATHS", tmp_path / "absent")
    with pytest.raises(UserError, match="--globus-share"):
        send_package(small_package, "globus://aaaa-bbbb/in/", SendOptions())


def test_a_second_send_of_the_same_package_to_the_same_place_waits_its_turn(
    small_package, tmp_path
):
    import fcntl

    from aqqua_packer.transfer.journal import journal_path
    from aqqua_packer.transfer.manifest import read_package
    from aqqua_packer.transfer.target import parse_target

    drive = tmp_path / "drive"
    lock = journal_path(read_package(small_package), parse_target(str(drive))).with_suffix(".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a+") as held:  # a send already running (another process, in real life)
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(UserError, match="already running"):
            send_package(small_package, str(drive))
    assert send_package(small_package, str(drive)).complete  # released: it runs


@pytest.mark.skipif(not Path("/proc/mounts").exists(), reason="reads Linux's mount table")
def test_the_file_system_of_a_drive_is_read_from_the_mount_table(tmp_path):
    from aqqua_packer.transfer.drive import filesystem_type

    assert filesystem_type(Path("/proc/self")) == "proc"
    expected = subprocess.run(
        ["stat", "-f", "-c", "%T", str(tmp_path)], capture_output=True, text=True
    ).stdout.strip()
    got = filesystem_type(tmp_path)
    assert got and (got == expected or got.startswith(expected[:3]) or expected.startswith(got[:3]))


def test_per_file_progress_reaches_the_caller_for_the_gui(small_package, tmp_path):
    seen = []
    result = send_package(small_package, str(tmp_path / "d"), SendOptions(on_file=seen.append))
    assert result.complete
    arrived = [s.path for s in seen if s.state == "arrived"]
    assert (
        sorted(arrived) == sorted(f.path for f in result.files) and arrived[-1] == "manifest.sha256"
    )
    big = [s for s in seen if s.path == "cruise-42-images-000.lmdb/data.mdb"]
    assert big[-1].state == "arrived" and big[-1].verified_by == "sha256"
    assert any(s.state == "partial" and 0 < s.confirmed for s in big)
