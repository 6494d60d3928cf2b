"""AqQua Packer: pack plankton images and their metadata into the AqQua Data Format."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "open_package"]


def open_package(path):
    """Open a packed AqQua package for reading; see ``aqqua_packer.package.read``."""
    from .package.read import open_package as _open

    return _open(path)
