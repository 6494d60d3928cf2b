"""Bad input gives one clear message naming the file, and nothing already packed is lost."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pkgtools import cli, content, map_args, plankton_dataset

from aqqua_packer import open_package
from aqqua_packer.package import layout

OPTS = ("--commit-every", "4", "--workers", "2")


def _pack(src: Path, out: Path, *extra: str, table: Path | None = None):
    args = ["pack", str(src), "--out", str(out), "-q", *map_args(), *OPTS, *extra]
    if table:
        args += ["--table", str(table)]
    return cli(*args)


@pytest.fixture
def dataset(tmp_path):
    return plankton_dataset(tmp_path / "src", 20, seed=9)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(
            lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), id="truncated-png"
        ),
        pytest.param(lambda p: p.write_text("this is not an image\n"), id="text-named-png"),
    ],
)
def test_an_unreadable_image_stops_with_its_name_and_keeps_what_was_packed(
    dataset, tmp_path, damage
):
    bad = dataset / "img_000012.png"
    damage(bad)
    out = tmp_path / "pkg"
    r = _pack(dataset, out)
    assert r.returncode == 2
    assert "img_000012.png" in r.stderr and "cannot read the image" in r.stderr
    assert "Traceback" not in r.stderr
    assert "The 12 images before it are packed and kept" in r.stderr
    # Run again, packing the rest: it continues (the 12 are not redone) and lists the bad one.
    r = _pack(dataset, out, "--skip-incomplete", "--json")
    assert r.returncode == 0, r.stderr
    assert '"resumed": true' in r.stdout
    pkg = open_package(out)
    assert len(pkg) == 19
    skipped = (out / layout.SKIPPED).read_text(encoding="utf-8")
    assert "img_000012.png" in skipped and "cannot read the image" in skipped
    assert cli("verify", str(out)).returncode == 0


def test_an_unreadable_table_is_named(dataset, tmp_path):
    bad = tmp_path / "meta.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a spreadsheet")
    r = _pack(dataset, tmp_path / "pkg", table=bad)
    assert r.returncode == 2
    assert str(bad) in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "pkg" / layout.MANIFEST).exists()


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-8-sig"])
def test_tables_in_latin1_cp1252_or_utf8_with_bom_keep_their_text(dataset, tmp_path, encoding):
    table = dataset / "meta.csv"
    lines = table.read_text(encoding="utf-8").splitlines()
    label = "Méditerranée – côte" if encoding != "latin-1" else "Méditerranée côte"
    lines = [lines[0]] + [line.replace("copepod", label) for line in lines[1:]]
    table.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    out = tmp_path / "pkg"
    r = _pack(dataset, out)
    assert r.returncode == 0, r.stderr
    pkg = open_package(out)
    assert len(pkg) == 20
    assert set(pkg.meta["image-label"]) == {label}
    raw = pkg.raw
    assert "file" in raw.columns  # the BOM did not stick to the first column name
    assert set(raw["label"]) == {label}


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    return r.returncode == 0


@pytest.mark.slow
def test_a_full_disk_stops_clearly_keeps_the_packed_images_and_continues_after_space_is_freed(
    tmp_path,
):
    src = plankton_dataset(tmp_path / "src", 40, seed=4)
    ref = tmp_path / "ref"
    assert _pack(src, ref).returncode == 0
    disk = Path("/tmp") / f"aqqua-full-disk-{uuid.uuid4().hex[:8]}"
    if not _mount_tmpfs(disk, "1200k"):
        shutil.rmtree(disk, ignore_errors=True)
        pytest.skip("absent: permission to mount a small tmpfs here (needs root)")
    try:
        out = disk / "pkg"
        r = _pack(src, out)
        assert r.returncode == 4, r.stderr
        assert f"{out}: the disk is full" in r.stderr
        assert "Traceback" not in r.stderr
        # What was committed is there: the open shard holds the first images.
        stores = list(out.glob("*-images-*.lmdb"))
        assert stores and (stores[0] / "data.mdb").stat().st_size > 100_000
        subprocess.run(["mount", "-o", "remount,size=20m", str(disk)], check=True)
        r = _pack(src, out, "--json")
        assert r.returncode == 0, r.stderr
        assert '"resumed": true' in r.stdout
        assert content(out) == content(ref)
        assert cli("verify", str(out)).returncode == 0
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)
        shutil.rmtree(disk, ignore_errors=True)


def test_images_without_required_metadata_stop_with_a_summary_unless_skipped(dataset, tmp_path):
    table = dataset / "meta.csv"
    lines = table.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace("43.0", "").replace(",2024-05-03", ",")  # no latitude, no date
    lines[5] = ",".join(v if i != 3 else "north" for i, v in enumerate(lines[5].split(",")))
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "pkg"
    r = _pack(dataset, out)
    assert r.returncode == 2
    assert "2 of 20 images lack required metadata" in r.stderr
    assert "latitude" in r.stderr and "img_000002.png" in r.stderr
    assert not out.exists() or not any(out.glob("*.parquet"))
    r = _pack(dataset, out, "--skip-incomplete")
    assert r.returncode == 0, r.stderr
    assert len(open_package(out)) == 18
    skipped = (out / layout.SKIPPED).read_text(encoding="utf-8").splitlines()
    assert skipped[0] == "image-filename,source,reason"
    assert [s.split(",")[0] for s in skipped[1:]] == ["img_000002.png", "img_000004.png"]
    assert "skipped.csv" in (out / layout.MANIFEST).read_text()
    names = set(
        pq.read_table(next(out.glob("*-meta-*.parquet"))).column("image-filename").to_pylist()
    )
    assert "img_000002.png" not in names


def test_an_output_folder_with_other_files_is_refused(dataset, tmp_path):
    out = tmp_path / "pkg"
    out.mkdir()
    (out / "thesis.docx").write_text("precious")
    r = _pack(dataset, out)
    assert r.returncode == 2
    assert "not empty" in r.stderr
    assert (out / "thesis.docx").read_text() == "precious"
