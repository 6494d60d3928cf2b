"""What a send tells the user is true: the rate after a resume counts only this run's bytes, a
package damaged on this computer is named as such (not blamed on the server), and the warning
about an unencrypted FTP server comes once, before the password is asked for."""

from __future__ import annotations

import os
import shutil
import sys
import time

import pytest

from aqqua_packer.problems import UserError
from aqqua_packer.progress import Cancelled, Task
from aqqua_packer.transfer import SendOptions, send_package

from .conftest import assert_identical, make_package
from .servers import TEST_PASSWORD


def test_rate_after_a_resume_counts_only_the_bytes_sent_by_this_run(ftpd, tmp_path):
    pkg = make_package(tmp_path, {"a-images-000.lmdb/data.mdb": 8_000_000}, name="rated")
    url = ftpd.url("/in")
    task = Task(on_event=lambda ev: ev.bytes_done >= 6_000_000 and task.cancel(), min_interval=0)
    with pytest.raises(Cancelled):
        send_package(pkg, url, SendOptions(password=TEST_PASSWORD, bwlimit=8_000_000), task)
    held = _settled_size(next((ftpd.home / "in" / "rated").rglob("*.part")))
    assert (
        held >= 4_000_000
    )  # FTP journals nothing until a file ends: the server says what it holds
    limit = 1_000_000
    events: list = []
    result = send_package(
        pkg,
        url,
        SendOptions(password=TEST_PASSWORD, bwlimit=limit),
        Task(on_event=events.append, min_interval=0),
    )
    assert result.complete
    assert_identical(pkg, ftpd.home / "in" / "rated")
    rates = [e.byte_rate for e in events if e.byte_rate and e.phase == "send"]
    assert rates and max(rates[len(rates) // 2 :]) < 1.3 * limit, (held, rates[-5:])


def _settled_size(path, seconds: float = 10.0) -> int:
    """The size of a file the server is still writing, once it stops growing."""
    end, last = time.monotonic() + seconds, -1
    while time.monotonic() < end:
        size = path.stat().st_size
        if size == last:
            return size
        last = size
        time.sleep(0.5)
    return last


@pytest.mark.parametrize("where", ["ftp", "drive"])
def test_a_package_damaged_on_this_computer_is_named_before_anything_of_it_is_sent(
    ftpd, tmp_path, where
):
    pkg = make_package(tmp_path, {"a-images-000.lmdb/data.mdb": 2_000_000, "b.parquet": 1000})
    shard = pkg / "a-images-000.lmdb" / "data.mdb"
    with shard.open("r+b") as fh:  # one flipped byte, as a failing disk or a stray edit leaves
        fh.seek(1_234_567)
        byte = fh.read(1)
        fh.seek(1_234_567)
        fh.write(bytes([byte[0] ^ 0xFF]))
    url, arrived = (
        (ftpd.url("/in"), ftpd.home / "in" / pkg.name)
        if where == "ftp"
        else (str(tmp_path / "drive"), tmp_path / "drive" / pkg.name)
    )
    opts = SendOptions(password=TEST_PASSWORD, backoff_base=0.01, backoff_max=0.05)
    with pytest.raises(UserError) as err:
        send_package(pkg, url, opts)
    message = str(err.value)
    assert str(shard) in message and "damaged on this computer" in message
    assert "server" not in message.split("manifest")[0]  # the server is not blamed
    assert not list(arrived.rglob("data.mdb")) and not list(arrived.rglob(".data.mdb.*"))


@pytest.mark.skipif(sys.platform != "linux", reason="uses a pseudo-terminal")
def test_unencrypted_ftp_warning_comes_once_and_before_the_password_prompt(ftpd, tmp_path):
    from .test_cli_send import run_in_terminal

    pkg = make_package(tmp_path, {"a.bin": 1000}, name="warned")
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    env.pop("AQQUA_PASSWORD", None)
    rc, out = run_in_terminal(
        ["send", str(pkg), ftpd.url("/in")],
        [("Password for", TEST_PASSWORD), ("keyring", "n")],
        env,
    )
    assert rc == 0, out
    assert out.count("does not offer encryption") == 1, out
    assert out.index("does not offer encryption") < out.index("Password for")
    assert TEST_PASSWORD not in out
    shutil.rmtree(ftpd.home / "in")


def test_a_destination_that_keeps_losing_arrived_files_is_given_up_after_the_retries(tmp_path):
    """Files vanish at the destination right after they arrive (a cleanup job, a broken server):
    each pass sends them again, but not forever: --retries N passes, then "run again"."""
    pkg = make_package(tmp_path, {"a.bin": 10_000, "b.bin": 10_000}, name="vanishing")
    drive = tmp_path / "drive"

    def vanish(state) -> None:
        if state.state == "arrived" and state.path == "a.bin":
            (drive / "vanishing" / "a.bin").unlink(missing_ok=True)

    result = send_package(pkg, str(drive), SendOptions(retries=3, on_file=vanish))
    assert not result.complete and result.exit_code == 75
    assert "went missing at the server 4 times" in result.stopped
    assert not (drive / "vanishing" / "manifest.sha256").exists()
