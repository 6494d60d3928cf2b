"""verify finds every kind of damage and says where; info tells what a package holds."""

from __future__ import annotations

import hashlib
import json
import shutil

import pyarrow.parquet as pq
import pytest
from pkgtools import MAPS, cli, plankton_dataset

from aqqua_packer.package import layout
from aqqua_packer.package.verify import verify_package
from aqqua_packer.package.write import PackOptions
from aqqua_packer.workflow import Request, pack


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    src = plankton_dataset(tmp_path_factory.mktemp("src"), 24, seed=3)
    out = tmp_path_factory.mktemp("pkgs") / "good"
    pack(Request([src], maps=MAPS), out, options=PackOptions(workers=1, shard_bytes=400 * 1024))
    return out


@pytest.fixture
def copy(packed, tmp_path):
    dst = tmp_path / "pkg"
    shutil.copytree(packed, dst)
    return dst


def _kinds(path) -> set[str]:
    return {p.kind for p in verify_package(path).problems}


def test_a_sound_package_verifies_with_exit_code_0_and_json(packed):
    r = cli("verify", str(packed), "--json")
    assert r.returncode == 0, r.stdout
    d = json.loads(r.stdout)
    assert d["ok"] and d["images"] == 24 and d["problems"] == [] and d["shards"] >= 2


def test_a_damaged_image_store_fails_checksum_and_decoding(copy):
    store = next(copy.glob("*-images-*.lmdb")) / "data.mdb"
    data = bytearray(store.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)  # inside an image's frame
    store.write_bytes(bytes(data))
    res = verify_package(copy)
    assert not res.ok
    assert any(p.kind == "checksum" and p.file.endswith("data.mdb") for p in res.problems)
    assert {"undecodable", "pixels_differ"} & {p.kind for p in res.problems}
    r = cli("verify", str(copy))
    assert r.returncode == 1 and "data.mdb" in r.stdout


def test_missing_and_unlisted_files_are_named(copy):
    meta = next(copy.glob("*-meta-*.parquet"))
    meta.unlink()
    (copy / "notes.txt").write_text("hello")
    res = verify_package(copy)
    found = {(p.kind, p.file) for p in res.problems}
    assert ("missing_file", meta.name) in found
    assert ("unlisted_file", "notes.txt") in found


def test_rows_and_keys_that_disagree_are_found_even_with_fresh_checksums(copy):
    meta = next(copy.glob("*-meta-*.parquet"))
    table = pq.read_table(meta)
    pq.write_table(table.slice(1), meta)  # the first image loses its row
    entries = layout.read_manifest(copy)
    entries[meta.name] = hashlib.sha256(meta.read_bytes()).hexdigest()
    (copy / layout.MANIFEST).write_text(layout.manifest_text(entries))
    assert "no_row" in _kinds(copy)


def test_an_unfinished_package_is_reported_as_such(copy):
    (copy / layout.MANIFEST).unlink()
    res = verify_package(copy)
    assert not res.ok
    assert any(p.kind == "incomplete" and "not finished" in p.message for p in res.problems)


def test_info_reports_counts_bytes_fields_time_and_space(packed):
    r = cli("info", str(packed), "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["images"] == 24 and info["complete"]
    assert info["bytes"] == sum(p.stat().st_size for p in packed.rglob("*") if p.is_file())
    assert info["time"] == {"first": "2024-05-01T00:00:00Z", "last": "2024-05-24T23:23:00Z"}
    assert info["space"]["south"] == pytest.approx(43.0) and info["space"][
        "north"
    ] == pytest.approx(43.023)
    assert info["altitude_m"] == {"min": -28.0, "max": -5.0}
    assert (
        info["fields"]["image-label"] == 24 and "image-volume-sampled-liters" not in info["fields"]
    )
    text = cli("info", str(packed)).stdout
    assert "24 in" in text and "2024-05-01T00:00:00Z" in text
