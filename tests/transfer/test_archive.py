"""`archive` (one uncompressed tar in parts + SHA256SUMS, resumable) and `unarchive` (restore + verify)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from aqqua_packer.problems import UserError
from aqqua_packer.transfer.archive import archive, unarchive

from .conftest import assert_identical, make_package

PART = 1 << 20


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    return make_package(
        tmp_path_factory.mktemp("arch"),
        {
            "image-set.toml": 500,
            "a-000.lmdb/data.mdb": 5_300_000,
            "a-001.lmdb/data.mdb": 4_100_000,
            "skipped.csv": 0,
        },
        seed=3,
    )


def test_archive_parts_round_trip_to_the_same_package(package, tmp_path):
    res = archive(package, tmp_path / "parts", PART)
    assert len(res.parts) > 5 and all(p.stat().st_size <= PART for p in res.parts)
    assert (tmp_path / "parts" / "SHA256SUMS").read_text().count("\n") == len(res.parts)
    root = unarchive(res.parts, tmp_path / "back")
    assert_identical(package, root)


def test_a_damaged_or_missing_part_is_named(package, tmp_path):
    res = archive(package, tmp_path / "parts", PART)
    with pytest.raises(UserError, match=r"\.tar\.002 are missing"):
        unarchive([p for p in res.parts if not p.name.endswith(".002")], tmp_path / "back")
    with open(res.parts[2], "r+b") as fh:
        fh.write(b"X")
    with pytest.raises(UserError, match=r"\.tar\.003: damaged"):
        unarchive(res.parts, tmp_path / "back2")


def test_archive_killed_midway_continues_and_round_trips(package, tmp_path):
    out = tmp_path / "parts"
    cmd = [
        sys.executable,
        "-m",
        "aqqua_packer",
        "archive",
        str(package),
        "--out",
        str(out),
        "--part-size",
        "64K",
        "-q",
    ]
    killed = 0
    for _ in range(3):
        proc = subprocess.Popen(cmd)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list(out.glob("*.tar.*"))) >= 20 * (killed + 1):
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.002)
        proc.wait(20)
        if proc.returncode == -signal.SIGKILL:
            killed += 1
            assert not (out / "SHA256SUMS").exists()
    assert killed >= 1
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    parts = sorted(out.glob("cruise-42.tar.*"))
    assert parts and all(p.stat().st_size <= 64 * 1024 for p in parts)
    assert not list(out.glob("*.partial"))
    back = subprocess.run(
        [
            sys.executable,
            "-m",
            "aqqua_packer",
            "unarchive",
            *map(str, parts),
            "--out",
            str(tmp_path / "back"),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert back.returncode == 0, back.stderr
    assert_identical(package, tmp_path / "back" / package.name)
