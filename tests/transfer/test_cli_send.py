"""The `send` command as a person at a terminal uses it: fingerprint question, password prompt,
keyring offer (degrading gracefully where no keyring exists)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

import pytest

from .conftest import assert_identical
from .servers import TEST_PASSWORD

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="uses a pseudo-terminal and sshd")


def run_in_terminal(
    argv: list[str], answers: list[tuple[str, str]], env: dict, timeout: float = 90
) -> tuple[int, str]:
    """Run the CLI on a pseudo-terminal, typing each answer once its prompt appears."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal, so getpass reads from it
        os.execvpe(sys.executable, [sys.executable, "-m", "aqqua_packer", *argv], env)
    out, seen, pending = b"", 0, list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                data = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            out += data
            while pending and (i := out.find(pending[0][0].encode(), seen)) >= 0:
                seen = i + len(pending[0][0])
                os.write(fd, (pending.pop(0)[1] + "\n").encode())
        else:
            os.kill(pid, 9)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


def test_first_send_asks_fingerprint_and_password_and_survives_without_a_keyring(
    sshd, small_package, remote_dir, tmp_path
):
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    env.pop("AQQUA_PASSWORD", None)
    url = sshd.url(str(remote_dir))
    known = tmp_path / "known_hosts"
    rc, out = run_in_terminal(
        ["send", str(small_package), url, "--known-hosts", str(known)],
        [("Trust this server", "y"), ("Password for", TEST_PASSWORD), ("keyring", "y")],
        env,
    )
    fingerprint = subprocess.run(
        ["ssh-keygen", "-lf", f"{sshd.host_key}.pub"], capture_output=True, text=True
    ).stdout.split()[1]
    assert rc == 0, out
    assert fingerprint in out and "no keyring is available here" in out
    assert TEST_PASSWORD not in out  # getpass does not echo it
    assert_identical(small_package, remote_dir / small_package.name)
    assert f"[127.0.0.1]:{sshd.port}" in known.read_text()
    # unattended (no terminal, no keyring, no AQQUA_PASSWORD): a clear message, exit 2, no prompt
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "aqqua_packer",
            "send",
            str(small_package),
            url,
            "--known-hosts",
            str(known),
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        again.returncode == 2
        and "AQQUA_PASSWORD" in again.stderr
        and "Traceback" not in again.stderr
    )


def test_refusing_a_new_fingerprint_sends_nothing(sshd, small_package, remote_dir, tmp_path):
    env = {**os.environ, "HOME": str(tmp_path)}
    known = tmp_path / "known_hosts"
    rc, out = run_in_terminal(
        [
            "send",
            str(small_package),
            sshd.url(str(remote_dir)),
            "--known-hosts",
            str(known),
            "--identity",
            str(sshd.client_key),
        ],
        [("Trust this server", "n")],
        env,
    )
    assert rc == 2 and "Nothing was sent" in out
    assert list(remote_dir.iterdir()) == [] and not known.exists()
