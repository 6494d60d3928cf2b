"""A pack that produced nothing usable says so and exits non-zero; a finished package is never
changed or mixed with other input, and a rerun says what it did not apply."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from pkgtools import MAPS, cli, content, map_args, plankton_dataset

from aqqua_packer.package import layout

OPTS = ("--workers", "1")


def _pack(src: Path, out: Path, *extra: str, maps=MAPS):
    return cli("pack", str(src), "--out", str(out), "-q", *map_args(maps), *OPTS, *extra)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    src = plankton_dataset(tmp_path_factory.mktemp("src"), 6, seed=2)
    out = tmp_path_factory.mktemp("pkgs") / "pkg"
    r = _pack(src, out, "--contributor", "Ada Lovelace")
    assert r.returncode == 0, r.stderr
    return src, out


def test_every_image_unreadable_with_skip_incomplete_packs_nothing_and_exits_non_zero(tmp_path):
    src = plankton_dataset(tmp_path / "src", 3, seed=1)
    for png in src.glob("*.png"):
        png.write_text("not an image\n")
    out = tmp_path / "pkg"
    r = _pack(src, out, "--skip-incomplete")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Nothing was packed: none of the 3 images could be packed" in r.stderr
    assert "img_000000.png" in r.stderr and "cannot read the image" in r.stderr
    assert "Finished" not in r.stdout and "Packed" not in r.stdout
    assert not (out / layout.MANIFEST).exists()
    # nothing to send: the half-made folder is refused, to a drive as to a server
    s = cli("send", str(out), str(tmp_path / "drive"))
    assert s.returncode == 2 and "not finished packing" in s.stderr
    assert not (tmp_path / "drive" / "pkg").exists()


def test_send_refuses_an_empty_package_an_older_packer_finished(finished, tmp_path):
    _src, pkg = finished
    empty = tmp_path / "empty"
    shutil.copytree(pkg, empty)
    toml = (empty / layout.IMAGE_SET).read_text(encoding="utf-8")
    assert "images = 6" in toml
    (empty / layout.IMAGE_SET).write_text(toml.replace("images = 6", "images = 0"), "utf-8")
    r = cli("send", str(empty), str(tmp_path / "drive"))
    assert r.returncode == 2 and "holds no images" in r.stderr, r.stderr
    assert not (tmp_path / "drive" / "empty").exists()


def test_packing_other_input_into_a_complete_package_is_refused_and_changes_nothing(finished):
    src, out = finished
    before = content(out)
    other = [m if not m.startswith("pixel_size") else "pixel_size=depth" for m in MAPS]
    r = _pack(src, out, "--contributor", "Ada Lovelace", maps=other)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "already holds a complete package of other images or metadata" in r.stderr
    assert content(out) == before


def test_rerun_with_another_contributor_says_it_was_not_applied_and_how_to(finished):
    src, out = finished
    toml = (out / layout.IMAGE_SET).read_bytes()
    r = _pack(src, out, "--contributor", "Grace Hopper")
    assert r.returncode == 2, r.stdout + r.stderr
    assert (
        "--contributor 'Grace Hopper' (the package says 'Ada Lovelace') was not applied" in r.stderr
    )
    assert "--out NEW-FOLDER" in r.stderr and "Nothing to do" not in r.stdout
    assert (out / layout.IMAGE_SET).read_bytes() == toml
    same = _pack(src, out, "--contributor", "Ada Lovelace")  # the same facts: nothing to do
    assert same.returncode == 0 and "Nothing to do" in same.stdout, same.stderr


def test_a_read_only_output_with_little_free_space_is_called_read_only_not_full(tmp_path):
    src = plankton_dataset(tmp_path / "src", 3, seed=3)
    disk = Path("/tmp") / f"aqqua-ro-{uuid.uuid4().hex[:8]}"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        disk.rmdir()
        pytest.skip("absent: permission to mount a small read-only tmpfs (needs root)")
    try:
        r = _pack(src, disk / "pkg")
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
        disk.rmdir()
    assert r.returncode == 4, r.stderr
    assert "read-only" in r.stderr and "full" not in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
