"""Give memory that Python and Arrow have freed back to the system, between the big steps.

glibc's allocator keeps freed heap pages resident: after scanning 100,000 files and checking their
metadata, 15-25 MB that nothing uses any more stayed in the process for the whole pack (a field
computer with little RAM feels it; the 10,000 -> 100,000 images memory ratio showed it).
``malloc_trim(0)`` returns whole free pages from every arena, and Arrow's pool (mimalloc) is asked
to release what it keeps (27 MB after checking 100,000 images).  Elsewhere (macOS, Windows, musl)
this does nothing: their allocators return memory on their own or offer no such call.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_trim = None
if sys.platform.startswith("linux"):
    try:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        _trim = getattr(_libc, "malloc_trim", None)
    except OSError:  # no C library to load (a static build): nothing to trim
        _trim = None
    if _trim is not None:
        _trim.argtypes = [ctypes.c_size_t]
        _trim.restype = ctypes.c_int
    # glibc serves a block of 128 KiB or more from its own mapping, returned when freed, but it
    # raises that threshold (up to 32 MiB) each time such a block is freed, after which large
    # temporaries (Arrow columns, numpy arrays of a million images) stay in the heap once freed.
    # A fixed threshold of 256 KiB keeps giving them back: 55-70 MiB less at the peak of checking
    # 1,000,000 images.  A user's MALLOC_MMAP_THRESHOLD_ wins.
    _mallopt = getattr(_libc, "mallopt", None) if _trim is not None else None
    if _mallopt is not None and "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        _M_MMAP_THRESHOLD = -3
        _mallopt(_M_MMAP_THRESHOLD, 256 * 1024)


def release_free_memory() -> bool:
    """Hand whole free pages back to the system; True if any were.

    No ``gc.collect()`` here: the steps run on the GUI's worker threads, and a collection there
    may finalise Qt objects that belong to the GUI thread (a crash)."""
    released = False
    pa = sys.modules.get("pyarrow")
    if pa is not None:  # Arrow's own allocator (mimalloc, jemalloc) keeps freed blocks too
        try:
            pa.default_memory_pool().release_unused()
            released = True
        except Exception:  # an Arrow without the call: nothing to release
            pass
    if _trim is None:
        return released
    return bool(_trim(0)) or released
