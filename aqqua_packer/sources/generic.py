"""Any folder of images, with or without a metadata table: the reader of last resort.

What it reads (the images below the folder and in its zips, the one table beside them) and how is
``image_folder``'s, which the microscopy reader shares.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..progress import Task
from .base import Detection, Scan
from .image_folder import read_image_folder
from .pixels import IMAGE_SUFFIXES
from .reader import finish_scan


def detect(path: Path) -> Detection:
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return Detection(0.1, f"{path.name} is an image file")
        if path.suffix.lower() == ".zip":
            return Detection(0.05, f"{path.name} is a zip; looking for any images in it")
        return Detection(0.0, f"{path.name} is not an image")
    if path.is_dir():
        return Detection(0.05, "a folder; looking for any images in it")
    return Detection(0.0, "not a folder or image")


def scan(path: Path, task: Task, *, exclude: Iterable[Path] = ()) -> list[Scan]:
    """``exclude``: folders and zips below ``path`` that other readers have taken (registry)."""
    return finish_scan(task, read_image_folder(path, task, exclude=exclude))
