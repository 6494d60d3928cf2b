"""Freed memory goes back to the system between the big steps (glibc keeps it otherwise)."""

from __future__ import annotations

import sys

import pytest

from aqqua_packer.memory import release_free_memory

psutil = pytest.importorskip("psutil")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_freed_heap_pages_are_returned_after_a_step():
    """60 MB of 1 kB blocks freed under one survivor stay resident (the heap's top is pinned)
    until ``release_free_memory``, which the scan and check steps call when they finish."""
    proc = psutil.Process()
    blocks = [bytes(1000) + bytes([i % 256]) for i in range(60_000)]
    survivor = bytes(1000) + b"!"  # allocated last: the heap cannot shrink from the top
    before = proc.memory_info().rss
    del blocks
    kept = proc.memory_info().rss
    assert before - kept < 20 * 2**20, "glibc gave the blocks back by itself: nothing to test"
    assert release_free_memory()
    after = proc.memory_info().rss
    assert kept - after > 40 * 2**20, (kept - after) / 2**20
    assert survivor.endswith(b"!")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="madvise on a file mapping")
def test_pages_read_through_a_file_mapping_are_unmapped_and_still_readable(tmp_path):
    """What the writer does every 32 images to the LMDB map: the pages leave the resident size
    (they stay in the page cache) and read back the same."""
    import mmap

    from aqqua_packer.package.layout import MappedFile

    path = tmp_path / "data.mdb"
    path.write_bytes(bytes(range(256)) * (32 * 2**20 // 256))
    def file_rss() -> int:
        status = open("/proc/self/status").read()
        return int(status.split("RssFile:")[1].split()[0]) * 1024

    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
        before = file_rss()
        total = sum(m[i] for i in range(0, len(m), 4096))  # touch every page
        touched = file_rss()
        assert touched - before > 24 * 2**20
        mapped = MappedFile(path)
        mapped.release()
        assert touched - file_rss() > 24 * 2**20
        assert mapped.ranges and sum(m[i] for i in range(0, len(m), 4096)) == total
        m[0]  # noqa: B018  (touch again)
        mapped.release()  # from the remembered ranges
        assert touched - file_rss() > 24 * 2**20
