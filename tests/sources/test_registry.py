"""The registry picks the best reader, splits mixed folders into their parts and says why."""

from __future__ import annotations

import shutil
import zipfile

import numpy as np
import pytest
from PIL import Image

from aqqua_packer.problems import UserError
from aqqua_packer.sources.registry import detect_all, scan_path, scan_paths


def _copy(src, dst):
    shutil.copytree(src, dst)
    for f in dst.rglob("*"):
        f.chmod(0o755 if f.is_dir() else 0o644)
    return dst


def test_a_folder_with_two_instruments_is_split_into_their_parts(shared_fixtures, tmp_path):
    top = tmp_path / "ship"
    _copy(shared_fixtures / "ifcb", top / "ifcb_underway")
    _copy(shared_fixtures / "flowcam", top / "flowcam" / "station12")
    Image.fromarray(np.zeros((5, 5), dtype=np.uint8)).save(top / "deck_photo.png")
    scans = scan_path(top)
    kinds = sorted((s.kind, len(s.images)) for s in scans)
    assert kinds == [("flowcam", 506), ("generic", 1), ("ifcb", 19)]
    other = next(s for s in scans if s.kind == "generic")
    assert [im.name for im in other.images] == ["deck_photo.png"]
    assert "other images" in other.label


def test_several_cruises_of_one_instrument_are_several_parts(shared_fixtures, tmp_path):
    _copy(shared_fixtures / "flowcam", tmp_path / "cruise_a")
    _copy(shared_fixtures / "flowcam", tmp_path / "cruise_b")
    scans = scan_path(tmp_path)
    assert [(s.kind, s.root.name, len(s.images)) for s in scans] == [
        ("flowcam", "cruise_a", 506),
        ("flowcam", "cruise_b", 506),
    ]


def test_another_instruments_subfolder_inside_a_recognised_folder_is_its_own_part(
    shared_fixtures, tmp_path
):
    top = _copy(shared_fixtures / "ifcb", tmp_path / "bins")
    _copy(shared_fixtures / "microscopy", top / "scope")
    scans = scan_path(top)
    assert sorted(s.kind for s in scans) == ["ifcb", "microscopy"]


def test_a_zip_and_a_single_file_are_accepted_like_folders(shared_fixtures, tmp_path):
    z = tmp_path / "scope.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(shared_fixtures / "microscopy" / "s_1_t_1_c_1_z_1.ome.tiff", "img/s1.ome.tiff")
    (scan,) = scan_path(z)
    assert [im.members for im in scan.images] == [("img/s1.ome.tiff",)]
    (single,) = scan_path(shared_fixtures / "ifcb" / "D20130526T095207_IFCB013.adc")
    assert single.kind == "ifcb" and len(single.images) == 19


def test_detection_answers_carry_reasons(shared_fixtures):
    name, det = detect_all(shared_fixtures / "flowcam")[0]
    assert name == "flowcam" and ".lst" in det.reason


def test_a_path_that_does_not_exist_is_named(tmp_path):
    with pytest.raises(UserError, match="no such file or folder"):
        scan_paths([tmp_path / "nope"])


def test_an_empty_folder_says_it_is_empty(tmp_path):
    (tmp_path / "empty").mkdir()
    (scan,) = scan_path(tmp_path / "empty")
    (p,) = scan.problems
    assert p.kind == "no_images" and p.file.endswith("empty") and "empty" in p.message


def test_a_folder_without_images_names_what_is_missing(tmp_path):
    (tmp_path / "notes.txt").write_text("cruise log\n")
    (scan,) = scan_path(tmp_path)
    (p,) = [p for p in scan.problems if p.kind == "no_images"]
    assert p.file == str(tmp_path) and "no images found" in p.message


def test_loose_images_beside_a_recognised_bin_are_reported_not_dropped_quietly(
    shared_fixtures, tmp_path
):
    top = _copy(shared_fixtures / "ifcb", tmp_path / "bins")
    Image.fromarray(np.zeros((5, 5), dtype=np.uint8)).save(top / "deck.png")
    (scan,) = scan_path(top)
    (p,) = [p for p in scan.problems if p.kind == "not_read"]
    assert "deck.png" in p.message and p.file == str(top) and p.severity == "warning"


# The instrument folders this test knows, by name: a fixture added to ../shared/fixtures later
# (another instrument, a damaged file for another test) does not change what it scans.
INSTRUMENT_FOLDERS = ("flowcam", "ifcb", "microscopy", "uvp6", "zooscan")


def test_the_shared_fixtures_folder_splits_into_one_part_per_instrument(shared_fixtures, tmp_path):
    top = tmp_path / "fixtures"
    for name in INSTRUMENT_FOLDERS:
        _copy(shared_fixtures / name, top / name)
    scans = scan_path(top)
    counts = sorted((s.kind, len(s.images)) for s in scans)
    assert counts == [
        ("flowcam", 506),
        ("ifcb", 19),
        ("microscopy", 1),
        ("uvp6", 15),
        ("zooscan", 5),
    ]
    assert all(s.reason for s in scans)


def test_folder_listings_cached_for_detection_are_dropped_once_the_scan_is_done(tmp_path):
    """detect() may share a cached listing between readers; a 100,000-file listing must not stay
    in memory through the pack that follows."""
    from aqqua_packer.sources import listing
    from aqqua_packer.sources.registry import scan_paths

    (tmp_path / "a.png").write_bytes(b"")
    listing.shallow(tmp_path)
    assert listing._shallow.cache_info().currsize >= 1
    scan_paths([tmp_path])
    assert listing._shallow.cache_info().currsize == 0


def test_the_detection_listing_keeps_folders_and_other_files_not_images(tmp_path):
    """Every reader's detect() asks for the listing near the top; images are never what it looks
    for, so they are not kept (100,000 of them held 17 MB per cached listing)."""
    from aqqua_packer.sources import listing

    for i in range(50):
        (tmp_path / f"img_{i:03d}.PNG").write_bytes(b"")
    (tmp_path / "ecotaxa_x.tsv").write_text("object_id\n[t]\n", encoding="utf-8")
    (tmp_path / "sub.jpg").mkdir()  # a folder named like an image is skipped too: never a part
    (tmp_path / "cast1").mkdir()
    (tmp_path / "cast1" / "cast1.pid").write_text("[Image]\n", encoding="utf-8")
    (tmp_path / "cast1" / "a.tif").write_bytes(b"")
    listing.forget_listings()
    listed = sorted(n.rel for n in listing.shallow(tmp_path))
    assert listed == ["cast1", "cast1/cast1.pid", "ecotaxa_x.tsv"]
    assert [n.rel for n in listing.shallow_files(tmp_path, (".tsv",))] == ["ecotaxa_x.tsv"]
    listing.forget_listings()
