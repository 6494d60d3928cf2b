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
