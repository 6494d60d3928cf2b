"""`check` opens every image: empty, cut-short and not-an-image files are problems before packing,
named with their file; `check --decode` decodes every image; real instrument files raise no alarm."""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aqqua_packer.cli import main
from aqqua_packer.progress import Cancelled, Task
from aqqua_packer.sources.base import ImageRef, Scan
from aqqua_packer.sources.probe import unreadable_images
from aqqua_packer.workflow import Request, check, scan

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "fixtures-real"
COLUMNS = "file,latitude,longitude,datetime,depth_m,pixel_size_um\n"


def encoded(fmt: str, seed: int = 0, size: int = 48) -> bytes:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 255, (size, size), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, fmt)
    return buf.getvalue()


def folder(root: Path, files: dict[str, bytes]) -> Path:
    """A folder of images and a CSV that gives every one of them all the required fields."""
    root.mkdir(parents=True)
    for name, data in files.items():
        (root / name).write_bytes(data)
    rows = "".join(f"{n},43.1,7.2,2024-05-01T10:00:00Z,5,10.6\n" for n in files)
    (root / "meta.csv").write_text(COLUMNS + rows)
    return root


def check_json(src: Path, *flags: str, capsys) -> tuple[int, dict]:
    rc = main(["check", str(src), "-q", "--json", *flags])
    return rc, json.loads(capsys.readouterr().out)


def unreadable(data: dict) -> dict[str, str]:
    return {p["file"]: p["message"] for p in data["problems"] if p["kind"] == "unreadable_image"}


def test_check_names_each_empty_cut_short_or_not_an_image_file_and_they_are_not_ready(
    tmp_path, capsys
):
    png, jpg, tif = encoded("PNG"), encoded("JPEG"), encoded("TIFF")
    src = folder(
        tmp_path / "d",
        {
            "good.png": png,
            "good.tif": tif,
            "fine.jpeg": encoded("JPEG", 2),
            "empty.png": b"",
            "half.png": png[: len(png) // 2],
            "cut.jpg": jpg[: len(jpg) // 2],
            "half.tif": tif[:-200],
            "words.png": b"this is not an image\n",
            "png_named.tif": encoded("PNG", 1),
        },
    )
    rc, data = check_json(src, capsys=capsys)
    assert rc == 1
    bad = unreadable(data)
    assert set(bad) == {
        "empty.png",
        "half.png",
        "cut.jpg",
        "half.tif",
        "words.png",
        "png_named.tif",
    }
    assert bad["empty.png"] == "the file is empty (0 bytes)"
    assert bad["half.png"].startswith("the PNG is cut short")
    assert bad["cut.jpg"].startswith("the JPEG is cut short")
    assert bad["half.tif"].startswith("the TIFF is shorter than its image data needs")
    assert "not an image" in bad["words.png"] and "this is not an image" in bad["words.png"]
    assert bad["png_named.tif"].startswith("named .tif but it is a PNG file")
    assert (data["images"], data["ready"]) == (9, 3)
    assert all(
        p["severity"] == "error" for p in data["problems"] if p["kind"] == "unreadable_image"
    )


def test_a_folder_whose_three_images_are_all_corrupt_says_3_unreadable_and_exits_1(
    tmp_path, capsys
):
    png = encoded("PNG")
    src = folder(
        tmp_path / "d",
        {"a.png": png[:100], "b.png": b"\x89PNG\r\n\x1a\n", "c.png": b"garbage" * 30},
    )
    assert main(["check", str(src), "-q"]) == 1
    out = capsys.readouterr().out
    assert "3 images: 0 ready, 3 not ready." in out
    assert "every one is ready" not in out
    assert "image cannot be read (3)" in out
    for name in ("a.png", "b.png", "c.png"):
        assert name in out


def test_a_png_cut_only_after_its_pixels_still_packs_so_it_is_not_a_false_alarm(tmp_path, capsys):
    png = encoded("PNG")
    src = folder(tmp_path / "d", {"no_end.png": png[:-12], "good.png": encoded("PNG", 3)})
    rc, data = check_json(src, capsys=capsys)
    assert rc == 0, unreadable(data)
    assert data["ready"] == 2


def _damage_inside(png: bytes) -> bytes:
    """The same PNG with bytes in the middle of its compressed pixels overwritten: the start and
    the end are whole, so only decoding can tell."""
    data = bytearray(png)
    mid = len(data) // 2
    data[mid : mid + 16] = bytes(16)
    return bytes(data)


def test_decode_finds_damage_inside_the_pixels_that_opening_the_image_cannot_see(tmp_path, capsys):
    src = folder(
        tmp_path / "d",
        {"inside.png": _damage_inside(encoded("PNG", size=96)), "good.png": encoded("PNG", 1)},
    )
    rc, data = check_json(src, capsys=capsys)
    assert rc == 0 and unreadable(data) == {}  # the header look cannot see it (documented)
    rc, data = check_json(src, "--decode", capsys=capsys)
    assert rc == 1
    bad = unreadable(data)
    assert list(bad) == ["inside.png"]
    assert bad["inside.png"].startswith("the image does not decode")
    assert data["ready"] == 1


def test_images_in_a_zip_are_read_whole_so_a_damaged_member_is_named(tmp_path, capsys):
    src = tmp_path / "z"
    src.mkdir()
    png = encoded("PNG", size=64)
    with zipfile.ZipFile(src / "images.zip", "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("good.png", encoded("PNG", 1))
        zf.writestr("cut.png", png[: len(png) // 2])
        zf.writestr("crc.png", png)
    # flip one byte of the stored crc.png: its zip CRC-32 no longer matches
    raw = bytearray((src / "images.zip").read_bytes())
    at = raw.rfind(png[len(png) // 2 : len(png) // 2 + 32])
    raw[at + 5] ^= 0xFF
    (src / "images.zip").write_bytes(bytes(raw))
    rows = "".join(
        f"{n},43.1,7.2,2024-05-01T10:00:00Z,5,10.6\n" for n in ("good.png", "cut.png", "crc.png")
    )
    (src / "meta.csv").write_text(COLUMNS + rows)
    rc, data = check_json(src, capsys=capsys)
    assert rc == 1
    bad = {Path(f).name: m for f, m in unreadable(data).items()}
    assert set(bad) == {"cut.png", "crc.png"}, data["problems"]
    assert "CRC" in bad["crc.png"]


def test_an_ifcb_roi_file_cut_inside_an_image_after_the_scan_makes_that_image_unreadable(
    tmp_path, shared_fixtures
):
    """The IFCB reader checks byte ranges while scanning; the look at the images checks them
    again when checking (the wizard keeps a scan while files change under it)."""
    src = tmp_path / "ifcb"
    shutil.copytree(shared_fixtures / "ifcb", src)
    roi = next(src.rglob("*.roi"))
    scans = scan(Request([src]))
    images = scans[0].images
    last = max(images, key=lambda r: r.raw[0])
    offset, width, height = last.raw
    roi.write_bytes(roi.read_bytes()[: offset + width * height - 100])
    mapped = check(Request([src]), scans=scans)
    bad = [p for p in mapped.problems if p.kind == "unreadable_image"]
    assert [p.file for p in bad] == [last.name]
    assert bad[0].message.startswith("the file ends before this image does")


def test_boxes_cut_from_a_collage_that_is_cut_short_are_unreadable_and_it_is_opened_once(
    tmp_path,
):
    collage = encoded("PNG", size=200)
    (tmp_path / "collage.png").write_bytes(collage[: len(collage) // 2])
    (tmp_path / "whole.png").write_bytes(encoded("PNG", 1, size=100))
    images = [
        ImageRef(f"p{k}", str(tmp_path / "collage.png"), box=(10 * k, 0, 10, 10)) for k in range(5)
    ]
    images += [
        ImageRef("inside", str(tmp_path / "whole.png"), box=(0, 0, 100, 100)),
        ImageRef("outside", str(tmp_path / "whole.png"), box=(95, 0, 10, 10)),
    ]
    scan = Scan(kind="flowcam", root=tmp_path, images=images)
    bad = unreadable_images([scan], Task())
    assert sorted(bad) == [(0, k) for k in (0, 1, 2, 3, 4, 6)]
    assert bad[(0, 0)].startswith("the file it is cut from cannot be read: the PNG is cut short")
    assert bad[(0, 6)] == "the box x=95 y=0 w=10 h=10 lies outside the 100x100 image"


def _sources(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


@pytest.mark.parametrize("decode", [False, True], ids=["open", "decode"])
def test_every_real_instrument_fixture_opens_and_decodes_with_no_alarm(shared_fixtures, decode):
    for src in _sources(shared_fixtures) + _sources(REAL):
        mapped = check(Request([src]), decode=decode)
        bad = [str(p) for p in mapped.problems if p.kind == "unreadable_image"]
        assert bad == [], (src, bad[:3])


def test_a_look_cancelled_half_way_continues_where_it_stopped(tmp_path):
    files = {f"i{k:03d}.png": encoded("PNG", k, 8) for k in range(600)}
    files["i300.png"] = b""
    src = folder(tmp_path / "d", files)
    mapped = check(Request([src]), open_images=False)
    seen: list[int] = []

    def on_event(ev):
        seen.append(ev.done)
        if ev.done >= 256:
            task.cancel()

    task = Task(on_event=on_event, min_interval=0)
    with pytest.raises(Cancelled):
        unreadable_images(mapped.scans, task)
    assert max(seen) == 256
    # the rest, without the first 256 again
    again = Task(on_event=lambda ev: seen.append(ev.total), min_interval=0)
    bad = unreadable_images(mapped.scans, again)
    assert seen[-1] == 600 - 256
    assert list(bad.values()) == ["the file is empty (0 bytes)"]
    assert unreadable_images(mapped.scans, Task()) == bad  # kept: nothing to look at now


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one thread on one processor")
def test_many_images_are_looked_at_on_several_threads_with_the_same_findings_in_order(tmp_path):
    import threading

    files = {f"i{k:04d}.png": encoded("PNG", k % 7, 8) for k in range(1500)}
    files["i0003.png"] = b""
    files["i0700.png"] = encoded("PNG", 1, 64)[:-200]
    files["i1499.png"] = b"not an image"
    src = folder(tmp_path / "d", files)
    mapped = check(Request([src]), open_images=False)
    names = mapped.scans[0].images.names()
    threads: set[str] = set()

    def on_event(ev):
        threads.update(t.name for t in threading.enumerate())
        if ev.done >= 512:
            task.cancel()

    task = Task(on_event=on_event, min_interval=0)
    with pytest.raises(Cancelled):
        unreadable_images(mapped.scans, task)
    assert any(n.startswith("aqqua-probe") for n in threads)
    bad = unreadable_images(mapped.scans, Task())  # the rest, after the cancel
    assert [names[j] for _, j in bad] == ["i0003.png", "i0700.png", "i1499.png"]
    assert list(bad.values())[0] == "the file is empty (0 bytes)"
    assert list(bad.values())[1].startswith("the PNG is cut short")
    assert list(bad.values())[2].startswith("not an image file")
