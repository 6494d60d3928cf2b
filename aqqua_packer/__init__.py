"""AqQua Packer: pack plankton images and their metadata into the AqQua Data Format."""

from __future__ import annotations

import os as _os

# Arrow's own allocator (mimalloc/jemalloc) keeps freed memory for reuse: after reading a
# 100,000-row table the process stayed ~25 MB larger than with the C library's allocator, which
# gives it back.  Set before pyarrow is first imported; a user's own setting wins.
_os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

__version__ = "0.1.0"

__all__ = ["__version__", "open_package"]


def open_package(path):
    """Open a packed AqQua package for reading; see ``aqqua_packer.package.read``."""
    from .package.read import open_package as _open

    return _open(path)
