"""Sending over SFTP to a real OpenSSH sshd on 127.0.0.1: arrival, verification, security."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aqqua_packer.problems import UserError
from aqqua_packer.progress import Task
from aqqua_packer.transfer import (
    AuthenticationFailed,
    HostKeyChanged,
    HostKeyUnknown,
    PasswordNeeded,
    SendOptions,
    plan,
    send_package,
)
from aqqua_packer.transfer.journal import home

from .conftest import assert_identical, make_package
from .servers import TEST_PASSWORD, TEST_USER, Relay, SSHServer, user_dir

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="starts OpenSSH's sshd")


def key_options(sshd, known_hosts, **kw) -> SendOptions:
    return SendOptions(
        identity=sshd.client_key, known_hosts=known_hosts, timeout=10, backoff_base=0.05, **kw
    )


def test_package_arrives_byte_identical_verified_by_sha256_at_the_server(
    sshd, small_package, remote_dir, known_hosts
):
    events = []
    result = send_package(
        small_package,
        sshd.url(str(remote_dir)),
        key_options(sshd, known_hosts),
        Task(on_event=events.append),
    )
    assert result.complete and result.exit_code == 0
    assert_identical(small_package, remote_dir / small_package.name)
    assert {f.verified_by for f in result.files} == {"sha256"}
    assert result.bytes_sent == result.bytes_total
    assert events[-1].finished and events[-1].bytes_done == result.bytes_total
    assert plan(small_package, sshd.url(str(remote_dir))).complete


def test_sending_again_sends_nothing_that_arrived(sshd, small_package, remote_dir, known_hosts):
    url = sshd.url(str(remote_dir))
    send_package(small_package, url, key_options(sshd, known_hosts))
    again = send_package(small_package, url, key_options(sshd, known_hosts))
    assert again.complete and again.bytes_sent == 0


def test_a_file_deleted_at_the_server_is_sent_again_before_the_manifest(
    sshd, small_package, remote_dir, known_hosts
):
    url = sshd.url(str(remote_dir))
    send_package(small_package, url, key_options(sshd, known_hosts))
    (remote_dir / small_package.name / "cruise-42-meta-000.parquet").unlink()
    again = send_package(small_package, url, key_options(sshd, known_hosts))
    assert again.complete and again.bytes_sent == 120_000
    assert_identical(small_package, remote_dir / small_package.name)


def test_home_relative_folder_lands_in_the_users_home(sshd, small_package, known_hosts):
    folder = f"aqqua-test-{time.time_ns()}"
    result = send_package(small_package, sshd.url(f"/~/{folder}"), key_options(sshd, known_hosts))
    arrived = Path(f"/home/{TEST_USER}") / folder / small_package.name
    try:
        assert result.complete
        assert_identical(small_package, arrived)
    finally:
        subprocess.run(["rm", "-rf", str(arrived.parent)], check=False)


def test_password_from_the_environment_logs_in(
    sshd, small_package, remote_dir, known_hosts, password_env
):
    import os

    opts = SendOptions(known_hosts=known_hosts, password=os.environ["AQQUA_PASSWORD"], timeout=10)
    assert send_package(small_package, sshd.url(str(remote_dir)), opts).complete


def test_missing_password_asks_for_one(sshd, small_package, remote_dir, known_hosts, monkeypatch):
    monkeypatch.setenv("HOME", str(remote_dir.parent))  # no ~/.ssh keys to fall back on
    with pytest.raises(PasswordNeeded, match="AQQUA_PASSWORD"):
        send_package(
            small_package,
            sshd.url(str(remote_dir)),
            SendOptions(known_hosts=known_hosts, timeout=10),
        )


def test_wrong_password_gives_a_clear_message_and_one_attempt_only(
    sshd, small_package, remote_dir, known_hosts, monkeypatch
):
    monkeypatch.setenv("HOME", str(remote_dir.parent))
    relay = Relay(sshd.port)
    asked = []

    def provider():
        asked.append(1)
        return "not-the-password"

    t0 = time.monotonic()
    with pytest.raises(AuthenticationFailed) as err:
        send_package(
            small_package,
            sshd.url(str(remote_dir), port=relay.port),
            SendOptions(
                known_hosts=_relay_known_hosts(sshd, relay, remote_dir),
                password_provider=provider,
                retries=10,
                backoff_base=0.05,
            ),
        )
    relay.close()
    assert "refused the password" in str(err.value) and TEST_USER in str(err.value)
    assert "not-the-password" not in str(err.value)
    assert relay.connections == 1 and len(asked) == 1  # no retry storm
    assert time.monotonic() - t0 < 15
    assert list(remote_dir.iterdir()) == []  # refused at login: not even a folder was made


def _relay_known_hosts(sshd, relay, folder: Path) -> Path:
    p = folder.parent / f"kh-{relay.port}"
    p.write_text(sshd.host_key_line().replace(f"]:{sshd.port} ", f"]:{relay.port} "))
    return p


def test_no_password_in_logs_journal_or_exceptions(
    sshd, small_package, remote_dir, known_hosts, tmp_path, monkeypatch
):
    """Run the CLI with DEBUG logging, succeed once, fail once with a wrong password: grep everything."""
    monkeypatch.setenv("HOME", str(tmp_path))
    env_ok = {**__import__("os").environ, "AQQUA_PASSWORD": TEST_PASSWORD}
    url = sshd.url(str(remote_dir))
    cmd = [
        sys.executable,
        "-m",
        "aqqua_packer",
        "-v",
        "send",
        str(small_package),
        url,
        "--known-hosts",
        str(known_hosts),
        "--no-keyring",
    ]
    ok = subprocess.run(cmd, env=env_ok, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    wrong = "Wr0ng-" + TEST_PASSWORD[::-1]
    bad = subprocess.run(
        cmd, env={**env_ok, "AQQUA_PASSWORD": wrong}, capture_output=True, text=True, timeout=120
    )
    # the journal says complete, but the server is still asked (sizes): the wrong password is refused
    assert bad.returncode == 2 and "refused the password" in bad.stderr
    logging.getLogger("paramiko").setLevel(logging.DEBUG)
    with pytest.raises(AuthenticationFailed) as err:
        send_package(
            small_package, url, SendOptions(known_hosts=known_hosts, password=wrong, timeout=10)
        )
    texts = [
        ok.stdout,
        ok.stderr,
        bad.stdout,
        bad.stderr,
        str(err.value),
        repr(err.value),
        repr(SendOptions(password=wrong)),
    ]
    texts += [p.read_text(errors="replace") for p in home().rglob("*") if p.is_file()]
    assert any("journal" in str(p) or p.suffix == ".jsonl" for p in home().rglob("*"))
    for text in texts:
        assert TEST_PASSWORD not in text and wrong not in text


def test_a_changed_host_key_is_refused_before_any_byte_is_sent(
    sshd, small_package, remote_dir, tmp_path, srv_tmp
):
    other = SSHServer(srv_tmp / "impostor")  # same address and port, a different host key
    known = tmp_path / "known_hosts"
    known.write_text(other.host_key_line().replace(f"]:{other.port} ", f"]:{sshd.port} "))
    relay_known = tmp_path / "kh-relay"
    relay = Relay(sshd.port)
    relay_known.write_text(other.host_key_line().replace(f"]:{other.port} ", f"]:{relay.port} "))
    with pytest.raises(HostKeyChanged) as err:
        send_package(
            small_package,
            sshd.url(str(remote_dir), port=relay.port),
            SendOptions(
                identity=sshd.client_key, known_hosts=relay_known, accept_new_host_key=True
            ),
        )
    relay.close()
    assert "DANGER" in str(err.value) and "Nothing was sent" in str(err.value)
    assert list(remote_dir.iterdir()) == []
    assert (
        relay.up_bytes < 8_000
    )  # the key exchange only; the smallest file is 900 bytes, the package 3 MB
    assert known.read_text().count("\n") == 1  # nothing was added to known_hosts


def test_a_host_recorded_under_another_key_type_is_refused_as_changed(
    sshd, small_package, remote_dir, tmp_path
):
    """known_hosts has an RSA key for the address; the server offers ed25519: not "new" (which
    would ask to trust it), but a changed key, refused before anything is sent."""
    rsa = tmp_path / "rsa_host_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(rsa)], check=True
    )
    kind, b64 = Path(f"{rsa}.pub").read_text().split()[:2]
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sshd.port} {kind} {b64}\n")
    before = known.read_text()
    with pytest.raises(HostKeyChanged) as err:
        send_package(
            small_package,
            sshd.url(str(remote_dir)),
            SendOptions(identity=sshd.client_key, known_hosts=known, accept_new_host_key=True),
        )
    assert "DANGER" in str(err.value) and "ssh-rsa" in str(err.value)
    assert err.value.info.key_type == "ssh-ed25519"
    assert list(remote_dir.iterdir()) == [] and known.read_text() == before


def test_a_new_host_shows_its_fingerprint_and_is_remembered_once_accepted(
    sshd, small_package, remote_dir, tmp_path
):
    known = tmp_path / "known_hosts"
    url = sshd.url(str(remote_dir))
    with pytest.raises(HostKeyUnknown) as err:
        send_package(small_package, url, SendOptions(identity=sshd.client_key, known_hosts=known))
    expected = subprocess.run(
        ["ssh-keygen", "-lf", f"{sshd.host_key}.pub"], capture_output=True, text=True
    ).stdout.split()[1]
    assert err.value.info.fingerprint == expected and expected in str(err.value)
    assert list(remote_dir.iterdir()) == []
    seen = []
    result = send_package(
        small_package,
        url,
        SendOptions(
            identity=sshd.client_key,
            known_hosts=known,
            confirm_host_key=lambda i: seen.append(i) or True,
        ),
    )
    assert result.complete and seen[0].fingerprint == expected
    # remembered: no question the next time
    assert send_package(
        small_package, url, SendOptions(identity=sshd.client_key, known_hosts=known)
    ).complete


def test_dotdot_in_the_address_is_refused_before_connecting(
    sshd, small_package, remote_dir, known_hosts
):
    with pytest.raises(UserError, match=r"'\.\.'"):
        send_package(
            small_package, sshd.url(f"{remote_dir}/../../../tmp"), key_options(sshd, known_hosts)
        )


def test_a_server_that_allows_only_sftp_is_verified_by_reading_ranges_back(
    tmp_path, srv_tmp, big_package
):
    server = SSHServer(srv_tmp / "sftp-only", extra_config="ForceCommand internal-sftp").start()
    try:
        known = tmp_path / "kh"
        known.write_text(server.host_key_line())
        remote = user_dir(srv_tmp, "in")
        result = send_package(
            big_package,
            server.url(str(remote)),
            SendOptions(identity=server.client_key, known_hosts=known, timeout=10),
        )
    finally:
        server.stop()
    assert result.complete
    by = {f.path: f.verified_by for f in result.files}
    assert (
        by["cruise-42-images-001.lmdb/data.mdb"] == "ranges" and by["manifest.sha256"] == "sha256"
    )
    assert_identical(big_package, remote / big_package.name)


def test_damaged_content_at_the_server_is_detected_and_sent_again(
    sshd, tmp_path, remote_dir, known_hosts
):
    pkg = make_package(tmp_path / "p", {"a.bin": 2_000_000}, seed=3)
    url = sshd.url(str(remote_dir))
    # a previous partial upload whose bytes are wrong (same name, same length: only a hash can tell)
    part = remote_dir / pkg.name / f".a.bin.{_sha(pkg / 'a.bin')[:12]}.part"
    part.parent.mkdir()
    part.write_bytes(b"\0" * 2_000_000)
    subprocess.run(["chown", "-R", TEST_USER, str(part.parent)], check=True)
    result = send_package(pkg, url, key_options(sshd, known_hosts))
    assert result.complete and result.interruptions == 1
    assert_identical(pkg, remote_dir / pkg.name)


def _sha(p: Path) -> str:
    import hashlib

    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_a_folder_the_user_may_not_write_is_a_clear_message_not_endless_retries(
    sshd, small_package, srv_tmp, known_hosts
):
    locked = srv_tmp / "root-only"
    locked.mkdir(mode=0o755)  # owned by root: the test user may look but not write
    t0 = time.monotonic()
    with pytest.raises(UserError, match="does not let user|permission denied"):
        send_package(small_package, sshd.url(f"{locked}/in"), key_options(sshd, known_hosts))
    assert time.monotonic() - t0 < 10


def test_a_server_without_room_is_refused_before_sending(sshd, tmp_path, remote_dir, known_hosts):
    pkg = make_package(tmp_path / "p", {"a.bin": 1000})
    with (pkg / "huge.lmdb").open("wb") as fh:  # sparse: more than the server's disk holds
        fh.truncate(1 << 43)
    with (pkg / "manifest.sha256").open("a") as fh:
        fh.write("0" * 64 + "  huge.lmdb\n")
    with pytest.raises(
        UserError, match=r"the destination is full \(.* free there, the package needs"
    ):
        send_package(pkg, sshd.url(str(remote_dir)), key_options(sshd, known_hosts))
    assert list(remote_dir.iterdir()) == []


def test_sftp_leftovers_of_an_earlier_packing_are_tidied_away(
    sshd, small_package, remote_dir, known_hosts
):
    folder = remote_dir / small_package.name / "cruise-42-images-000.lmdb"
    folder.mkdir(parents=True)
    stale = folder / ".data.mdb.0123456789ab.part"
    stale.write_bytes(b"an older packing's half-sent shard")
    subprocess.run(["chown", "-R", TEST_USER, str(remote_dir)], check=True)
    assert send_package(
        small_package, sshd.url(str(remote_dir)), key_options(sshd, known_hosts)
    ).complete
    assert not stale.exists()
    assert_identical(small_package, remote_dir / small_package.name)
