"""WebDAV and Nextcloud targets against a real wsgidav server (HTTPS with a test CA), including
Nextcloud's chunked upload v2 (the parts tests/transfer/davserver.py implements are listed there)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from aqqua_packer.problems import UserError
from aqqua_packer.transfer import (
    AuthenticationFailed,
    RemoteFullError,
    SendOptions,
    parse_target,
    plan,
    send_package,
)
from aqqua_packer.transfer.webdav import DavOptions

from .conftest import assert_identical, kill_during_sends, make_package, sha256
from .davserver import DAV_PASSWORD, DavServer, make_ca

CHUNK = 5_000_000  # Nextcloud's smallest chunk


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("AQQUA_PACKER_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def serve(tmp_path, ca, **kw) -> DavServer:
    srv = DavServer(tmp_path / "srv", tls=ca, **kw).start()
    (srv.root / "in").mkdir()
    return srv


def options(ca, password=DAV_PASSWORD, **kw) -> SendOptions:
    return SendOptions(
        password=password,
        retries=1,
        backoff_base=0.1,
        target_options=DavOptions(ca_file=ca["ca"], chunk_size=CHUNK),
        **kw,
    )


def cli(url, package, ca, *extra):
    return [
        sys.executable,
        "-m",
        "aqqua_packer",
        "send",
        str(package),
        url,
        "--ca-file",
        str(ca["ca"]),
        "--password-from-env",
        "--no-keyring",
        "--json-progress",
        *extra,
    ]


@pytest.mark.parametrize("nextcloud", [False, True], ids=["webdav", "nextcloud"])
def test_killed_three_times_with_bwlimit_resumes_to_identical_files(
    nextcloud, shards, ca, tmp_path, home
):
    srv = serve(tmp_path, ca, nextcloud=nextcloud)
    try:
        env = {**os.environ, "AQQUA_PACKER_HOME": str(home), "AQQUA_PASSWORD": DAV_PASSWORD}
        cmd = cli(srv.url("/in"), shards, ca, "--bwlimit", "12M", "--chunk-size", str(CHUNK))
        kills = kill_during_sends(cmd, env, (7_000_000, 14_000_000, 21_000_000))
        before = srv.put_bytes
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr[-500:]
        assert_identical(shards, srv.root / "in" / shards.name)
        assert plan(shards, srv.url("/in")).complete
        total = sum(p.stat().st_size for p in shards.rglob("*") if p.is_file())
        resent = srv.put_bytes - total
        assert kills == 3
        print(f"{'nextcloud' if nextcloud else 'webdav'}: {kills} kills, {resent} bytes sent twice")
        if nextcloud:  # resumes from the last complete chunk: at most one chunk per interruption
            assert resent <= kills * CHUNK, resent
            assert srv.put_bytes - before < total  # the last run did not start over
            assert not list((srv.root.parent / "srv-uploads").glob("*"))  # upload folders gone
    finally:
        srv.stop()


def test_a_wrong_password_is_one_clear_line_and_exit_2(shards, ca, tmp_path, home):
    srv = serve(tmp_path, ca)
    try:
        env = {**os.environ, "AQQUA_PACKER_HOME": str(home), "AQQUA_PASSWORD": "hunter2-wrong"}
        r = subprocess.run(
            cli(srv.url("/in"), shards, ca), env=env, capture_output=True, text=True, timeout=60
        )
        assert r.returncode == 2
        lines = [x for x in r.stderr.splitlines() if not x.startswith("{")]
        assert len(lines) == 1 and "refused the user name or the password" in lines[0], r.stderr
        assert "hunter2" not in r.stderr
        assert not (srv.root / "in" / shards.name).exists()
    finally:
        srv.stop()


def one_line(r) -> str:
    """The CLI's message: exactly one line besides the JSON progress."""
    lines = [x for x in r.stderr.splitlines() if not x.startswith("{")]
    assert len(lines) == 1, r.stderr
    return lines[0]


def test_an_expired_app_token_is_refused_once_and_nothing_is_claimed(shards, ca, tmp_path, home):
    srv = serve(tmp_path, ca, nextcloud=True, tokens={"old-token": time.time() - 60})
    try:
        env = {**os.environ, "AQQUA_PACKER_HOME": str(home), "AQQUA_PASSWORD": "old-token"}
        r = subprocess.run(
            cli(srv.url("/in"), shards, ca), env=env, capture_output=True, text=True, timeout=60
        )
        assert r.returncode == 2
        assert "revoked or expired" in one_line(r)
        assert not plan(shards, srv.url("/in")).bytes_arrived and srv.put_bytes == 0
        with pytest.raises(AuthenticationFailed):
            send_package(shards, srv.url("/in"), options(ca, password="old-token"))
    finally:
        srv.stop()


def test_a_certificate_for_another_name_is_refused_before_any_byte(shards, ca, tmp_path, home):
    srv = serve(tmp_path, ca, cert="other")
    try:
        env = {**os.environ, "AQQUA_PACKER_HOME": str(home), "AQQUA_PASSWORD": DAV_PASSWORD}
        r = subprocess.run(
            cli(srv.url("/in"), shards, ca), env=env, capture_output=True, text=True, timeout=60
        )
        assert r.returncode == 2
        lines = [x for x in r.stderr.splitlines() if not x.startswith("{")]
        assert len(lines) == 1 and "certificate is not trusted" in lines[0], r.stderr
        assert "127.0.0.1" in lines[0] and "mismatch" in lines[0]
        assert srv.put_bytes == 0
    finally:
        srv.stop()


def test_a_self_signed_server_needs_the_ca_file(shards, ca, tmp_path, home):
    srv = serve(tmp_path, ca)
    try:
        with pytest.raises(UserError, match="--ca-file"):
            send_package(shards, srv.url("/in"), SendOptions(password=DAV_PASSWORD, retries=1))
        assert srv.put_bytes == 0
    finally:
        srv.stop()


def test_a_full_quota_stops_with_507_and_claims_only_what_arrived(shards, ca, tmp_path, home):
    srv = serve(tmp_path, ca, quota=15_000_000)
    try:
        env = {**os.environ, "AQQUA_PACKER_HOME": str(home), "AQQUA_PASSWORD": DAV_PASSWORD}
        r = subprocess.run(
            cli(srv.url("/in"), shards, ca), env=env, capture_output=True, text=True, timeout=60
        )
        assert r.returncode == 4  # the destination is full: as `pack` on a full disk
        assert "is full (507 Insufficient Storage" in one_line(r)
        with pytest.raises(RemoteFullError, match="507 Insufficient Storage"):
            send_package(shards, srv.url("/in"), options(ca))
        p = plan(shards, srv.url("/in"))
        arrived = [f.path for f in p.files if f.state == "arrived"]
        held = srv.root / "in" / shards.name
        assert arrived  # the first shard fitted
        for f in p.files:  # what the journal claims is at the server, byte for byte
            if f.state == "arrived":
                assert (held / f.path).stat().st_size == f.size
            else:
                assert not (held / f.path).exists()
        assert "manifest.sha256" not in arrived and not p.complete
    finally:
        srv.stop()


def test_webdav_and_nextcloud_addresses_read_as_the_user_wrote_them():
    t = parse_target("davs://ana@files.example.org/aqqua/in")
    assert (t.scheme, t.port, t.user, t.path) == ("davs", 443, "ana", "/aqqua/in")
    assert parse_target("dav://ana@nas.local:8080/in").port == 8080
    assert parse_target("dav://ana@nas.local/in").port == 80
    n = parse_target("nextcloud://ana%40uni@cloud.example.org/AqQua")
    assert (n.user, n.path, n.canonical) == (
        "ana@uni",
        "/AqQua",
        "nextcloud://ana@uni@cloud.example.org:443/AqQua",
    )
    with pytest.raises(UserError, match="name the user"):
        parse_target("davs://files.example.org/in")
    with pytest.raises(UserError, match="password in the address"):
        parse_target("nextcloud://ana:secret@cloud.example.org/in")


def test_a_cut_single_put_of_a_small_file_is_sent_again_whole(ca, tmp_path, home):
    """A file smaller than a chunk goes up in one PUT; one cut short leaves a torn temporary file
    at the server, which the next run replaces (it cannot append to it)."""
    pkg = make_package(tmp_path / "p", {"image-set.toml": 500, "small.parquet": 1_000_000})
    srv = serve(tmp_path, ca, nextcloud=True)
    try:
        digest = sha256(pkg / "small.parquet")
        torn = srv.root / "in" / pkg.name / f".small.parquet.{digest[:12]}.part"
        torn.parent.mkdir(parents=True)
        torn.write_bytes((pkg / "small.parquet").read_bytes()[:300_000])
        result = send_package(pkg, srv.url("/in"), options(ca))
        assert result.complete
        assert_identical(pkg, srv.root / "in" / pkg.name)
    finally:
        srv.stop()
