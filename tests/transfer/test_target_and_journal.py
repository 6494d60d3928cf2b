"""Addresses, rates and the journal: the parts of sending that need no server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aqqua_packer.problems import UserError
from aqqua_packer.transfer import parse_duration, parse_rate, parse_target, plan, read_package
from aqqua_packer.transfer.journal import Journal

from .conftest import make_package


def test_sftp_path_is_absolute_and_tilde_means_home():
    assert parse_target("sftp://ana@ship.example:2222/data/in").path == "/data/in"
    t = parse_target("sftp://ana@ship.example/~/incoming")
    assert (t.path, t.port, t.user) == ("incoming", 22, "ana")
    assert parse_target("sftp://ana@h/~").path == ""


def test_ftp_path_is_read_as_curl_does():
    assert parse_target("ftp://u@h/in/box").path == "in/box"  # relative to the login folder
    assert parse_target("ftp://u@h/%2Fsrv/in").path == "/srv/in"
    assert parse_target("ftps://u@h:990/~/in").port == 990


@pytest.mark.parametrize(
    "url",
    [
        "sftp://u@h/data/../../etc",
        "sftp://u@h/~/../root",
        "ftp://u@h/a/%2E%2E/b",
        "ftp://u@h/%2F..%2Fetc",
    ],
)
def test_a_remote_folder_with_dotdot_is_refused(url):
    with pytest.raises(UserError, match=r"'\.\.'"):
        parse_target(url)


def test_a_password_in_the_address_is_refused_without_echoing_it():
    with pytest.raises(UserError) as err:
        parse_target("sftp://ana:hunter2-secret@h/in")
    assert "hunter2-secret" not in str(err.value)


def test_local_folder_target():
    t = parse_target("/media/usb")
    assert t.scheme == "folder" and t.local == Path("/media/usb")


def test_rates_take_k_m_g_as_powers_of_1024():
    assert parse_rate("500K") == 512_000
    assert parse_rate("8M") == 8 * 1024**2
    assert parse_rate("1g") == 1024**3
    assert parse_rate(None) is None
    with pytest.raises(UserError, match="500K"):
        parse_rate("fast")


def test_durations_default_to_hours():
    assert parse_duration("6h") == 6 * 3600
    assert parse_duration("90m") == 5400
    assert parse_duration("1.5") == 5400
    with pytest.raises(UserError):
        parse_duration("soon")


def test_a_package_without_manifest_is_not_finished_packing(tmp_path):
    root = tmp_path / "p"
    (root / ".aqqua-pack").mkdir(parents=True)
    (root / "image-set.toml").write_text("x")
    with pytest.raises(UserError, match="not finished packing"):
        read_package(root)


def test_a_manifest_path_that_leaves_the_package_is_refused(tmp_path):
    root = make_package(tmp_path, {"a.bin": 10})
    (root / "manifest.sha256").write_text("0" * 64 + "  ../outside.bin\n")
    with pytest.raises(UserError, match="would leave the package folder"):
        read_package(root)


def test_journal_survives_a_torn_last_line(tmp_path):
    path = tmp_path / "j.jsonl"
    j = Journal.load(path)
    j.record("confirmed", "a.bin", n=4096)
    j.record("done", "b.bin", n=10, how="sha256")
    j.close()
    with path.open("a") as fh:
        fh.write('{"t":"confirmed","f":"a.bin","n":99')  # kill -9 in the middle of a write
    again = Journal.load(path)
    assert again.files["a.bin"].confirmed == 4096
    assert again.files["b.bin"].done and again.files["b.bin"].verified_by == "sha256"
    again.record("confirmed", "a.bin", n=8192)  # appends on a fresh line, not glued to the torn one
    again.close()
    lines = path.read_text().splitlines()
    assert json.loads(lines[-1])["n"] == 8192
    assert Journal.load(path).files["a.bin"].confirmed == 8192


def test_plan_lists_every_file_pending_before_anything_was_sent(tmp_path):
    root = make_package(tmp_path, {"a.bin": 10, "b/c.bin": 20})
    p = plan(root, str(tmp_path / "drive"))
    assert [(f.path, f.state) for f in p.files] == [
        ("a.bin", "pending"),
        ("b/c.bin", "pending"),
        ("manifest.sha256", "pending"),
    ]
    assert p.bytes_arrived == 0 and not p.complete


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_segment = st.sampled_from(["..", ".", "%2E%2E", "%2e.", "a", "b c", "~", "%2F", "", "x%00"])


@given(st.sampled_from(["sftp", "ftp", "ftps"]), st.lists(_segment, max_size=6))
def test_no_remote_folder_can_climb_out_of_the_folder_named(scheme, segments):
    url = f"{scheme}://u@h/" + "/".join(segments)
    try:
        t = parse_target(url)
    except UserError:
        return
    parts = t.path.split("/")
    assert ".." not in parts and "\x00" not in t.path
