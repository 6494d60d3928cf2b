"""Fixtures for the transfer tests: packages made of random bytes, and real servers on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from .servers import TEST_PASSWORD, FTPServer, SSHServer, ensure_test_user, user_dir

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("sshd") and not Path("/usr/sbin/sshd").exists(),
    reason="absent: root and OpenSSH's server (sshd with a test user)",
)


def make_package(
    folder: Path, sizes: dict[str, int], *, seed: int = 1, name: str = "cruise-42"
) -> Path:
    """A package as the packer writes it: files of random bytes and manifest.sha256 (written last)."""
    root = folder / name
    root.mkdir(parents=True, exist_ok=True)
    rng = __import__("random").Random(seed)
    lines = []
    for rel, size in sizes.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        with p.open("wb") as fh:
            left = size
            while left:
                n = min(left, 1 << 20)
                fh.write(rng.randbytes(n))
                left -= n
        lines.append(f"{sha256(p)}  {rel}\n")
    (root / "manifest.sha256").write_text("".join(lines))
    return root


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while b := fh.read(1 << 22):
            h.update(b)
    return h.hexdigest()


def assert_identical(package: Path, arrived: Path) -> None:
    """Every file of the package arrived byte-identical, and no temporary file is left."""
    names = sorted(p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file())
    got = sorted(p.relative_to(arrived).as_posix() for p in arrived.rglob("*") if p.is_file())
    assert got == names
    for n in names:
        assert sha256(arrived / n) == sha256(package / n), n


SMALL = {
    "image-set.toml": 900,
    "cruise-42-images-000.lmdb/data.mdb": 3_000_000,
    "cruise-42-meta-000.parquet": 120_000,
    "cruise-42-raw-000.parquet": 250_000,
    "skipped.csv": 0,
}


@pytest.fixture(scope="session")
def small_package(tmp_path_factory) -> Path:
    return make_package(tmp_path_factory.mktemp("pkg"), SMALL)


@pytest.fixture(scope="session")
def big_package(tmp_path_factory) -> Path:
    """60 MB in one file plus small ones: for interruptions in the middle of a file."""
    return make_package(
        tmp_path_factory.mktemp("bigpkg"),
        {**SMALL, "cruise-42-images-001.lmdb/data.mdb": 60_000_000},
        seed=7,
    )


@pytest.fixture(scope="session")
def server_root():
    """Server-side folders live outside pytest's private (mode 700) temporary folders: sshd reads
    authorized_keys and writes uploads as the unprivileged test user."""
    root = Path(tempfile.mkdtemp(prefix="aqqua-transfer-tests-", dir="/tmp"))
    os.chmod(root, 0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def srv_tmp(server_root, request) -> Path:
    """A fresh folder under ``server_root`` for one test."""
    return Path(tempfile.mkdtemp(prefix=request.node.name[:40] + "-", dir=server_root))


@pytest.fixture(scope="session")
def sshd(server_root):
    if os.geteuid() != 0:
        pytest.skip("absent: root, to start sshd with a test user")
    ensure_test_user()
    server = SSHServer(server_root / "sshd").start()
    yield server
    server.stop()


@pytest.fixture
def remote_dir(srv_tmp) -> Path:
    """A fresh folder at the 'server' that the test user owns."""
    return user_dir(srv_tmp, "incoming")


@pytest.fixture
def known_hosts(tmp_path, sshd) -> Path:
    p = tmp_path / "known_hosts"
    p.write_text(sshd.host_key_line())
    return p


@pytest.fixture
def ftpd(tmp_path_factory):
    server = FTPServer(tmp_path_factory.mktemp("ftproot")).start()
    yield server
    server.stop()


@pytest.fixture
def password_env(monkeypatch):
    monkeypatch.setenv("AQQUA_PASSWORD", TEST_PASSWORD)
    return TEST_PASSWORD


INTERRUPTIONS: dict[str, int] = {}  # test name -> interruptions it survived (printed at the end)


@pytest.fixture
def survived(request):
    """Record how many interruptions a fault test survived, for the summary at the end of the run."""

    def record(n: int) -> None:
        INTERRUPTIONS[request.node.name] = INTERRUPTIONS.get(request.node.name, 0) + n

    return record


def pytest_terminal_summary(terminalreporter):
    if INTERRUPTIONS:
        total = sum(INTERRUPTIONS.values())
        terminalreporter.write_line(
            f"transfer: resumed after {total} interruptions in {len(INTERRUPTIONS)} fault tests"
        )


class ManifestLastWatcher:
    """An on_event callback that looks at the arrived folder on every progress event: whenever
    manifest.sha256 is there, every other file must already be there in full."""

    def __init__(self, package: Path, arrived: Path):
        self.sizes = {
            p.relative_to(package).as_posix(): p.stat().st_size
            for p in package.rglob("*")
            if p.is_file()
        }
        self.arrived = arrived
        self.looks = 0
        self.violations: list[str] = []
        self.saw_manifest = False

    def __call__(self, _event) -> None:
        self.looks += 1
        if not (self.arrived / "manifest.sha256").exists():
            return
        self.saw_manifest = True
        for rel, size in self.sizes.items():
            p = self.arrived / rel
            if rel != "manifest.sha256" and (not p.exists() or p.stat().st_size != size):
                self.violations.append(rel)


# --- for the WebDAV, Nextcloud and rclone tests (issue 16) ---------------------------------------
@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    """A multi-shard package: three 6–11 MB shards and small files."""
    return make_package(
        tmp_path_factory.mktemp("shards"),
        {
            "image-set.toml": 700,
            "cruise-42-images-000.lmdb/data.mdb": 11_000_000,
            "cruise-42-images-001.lmdb/data.mdb": 9_000_000,
            "cruise-42-images-002.lmdb/data.mdb": 6_000_000,
            "cruise-42-meta-000.parquet": 90_000,
        },
        seed=16,
    )


def kill_during_sends(cmd, env, kill_points, started_bytes=0):
    """Run the CLI and kill it (-9) once its progress passes each point; returns the kills done."""
    kills = 0
    for point in kill_points:
        proc = subprocess.Popen(
            cmd, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
        )
        said = []
        for line in proc.stderr:
            said.append(line)
            if line.startswith("{") and json.loads(line).get("bytes_done", 0) >= point:
                os.kill(proc.pid, signal.SIGKILL)
                break
        proc.wait(30)
        assert proc.returncode == -signal.SIGKILL, said[-3:]
        kills += 1
    return kills
