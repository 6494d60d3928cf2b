"""The listing the readers' ``detect`` share: what ``os.scandir`` says, listed once a while."""

from __future__ import annotations

import os

import pytest

from aqqua_packer.sources import listing


@pytest.fixture(autouse=True)
def _fresh():
    listing.forget_listings()
    yield
    listing.forget_listings()


def test_a_folder_is_listed_once_for_every_reader_and_again_when_it_changes(tmp_path):
    (tmp_path / "a.png").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    first = list(listing.entries(tmp_path))
    assert sorted((e.name, e.is_dir()) for e in first) == [("a.png", False), ("sub", True)]
    again = list(listing.entries(tmp_path))
    assert [id(e) for e in again] == [id(e) for e in first]  # the same entries: not listed again
    (tmp_path / "b.lst").write_text("")
    os.utime(tmp_path, ns=(1, os.stat(tmp_path).st_mtime_ns + 10**9))  # coarse clocks
    assert sorted(e.name for e in listing.entries(tmp_path)) == ["a.png", "b.lst", "sub"]


def test_a_large_folder_is_not_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(listing, "MAX_KEPT_ENTRIES", 3)
    for k in range(4):
        (tmp_path / f"{k}.png").write_bytes(b"x")
    assert sorted(e.name for e in listing.entries(tmp_path)) == [f"{k}.png" for k in range(4)]
    assert not isinstance(listing.entries(tmp_path), tuple)  # listed afresh
    monkeypatch.setattr(listing, "MAX_KEPT_ENTRIES", 4)
    listing.entries(tmp_path)
    assert isinstance(listing.entries(tmp_path), tuple)


def test_a_folder_that_cannot_be_listed_raises_when_asked(tmp_path):
    with pytest.raises(OSError):
        listing.entries(tmp_path / "gone")
