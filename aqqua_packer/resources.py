"""Where the bundled resources (icons, presets, sample data) are: in a checkout, an editable
install or a frozen (PyInstaller) build."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def sample_data_dir() -> Path:
    """The synthetic sample dataset behind "Try with sample data" and `aqqua-packer demo`."""
    return resources_dir() / "sample-data"
