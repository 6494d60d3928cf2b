"""File dialogs that open in the folder last used for the same purpose, not the working folder.

The folders are remembered in settings.json (``Settings``, under "last_folders") so they follow
``$AQQUA_PACKER_HOME`` like every other setting; the first time, the home folder.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from .project import Settings

KEY = "last_folders"


def last_folder(settings: Settings, purpose: str) -> str:
    """The folder last used for ``purpose`` ("sources", "package", "profile", …), else the last
    folder used for anything, else the home folder; only folders that still exist."""
    folders = settings.get(KEY, {}) or {}
    for key in (purpose, "any"):
        d = folders.get(key)
        if d and Path(d).is_dir():
            return str(d)
    return str(Path.home())


def remember(settings: Settings, purpose: str, chosen: str | Path) -> None:
    """Remember the folder of ``chosen`` (a folder, or a file's parent)."""
    if not chosen:
        return
    p = Path(chosen)
    folder = p if p.is_dir() else p.parent
    folders = dict(settings.get(KEY, {}) or {})
    folders[purpose] = folders["any"] = str(folder)
    settings.set(KEY, folders)


def existing_directory(parent: QWidget, settings: Settings, title: str, purpose: str) -> str:
    d = QFileDialog.getExistingDirectory(parent, title, last_folder(settings, purpose))
    if d:
        remember(settings, purpose, d)
    return d


def open_file_name(
    parent: QWidget, settings: Settings, title: str, filters: str, purpose: str
) -> str:
    path, _ = QFileDialog.getOpenFileName(parent, title, last_folder(settings, purpose), filters)
    if path:
        remember(settings, purpose, path)
    return path


def open_file_names(
    parent: QWidget, settings: Settings, title: str, filters: str, purpose: str
) -> list[str]:
    paths, _ = QFileDialog.getOpenFileNames(parent, title, last_folder(settings, purpose), filters)
    if paths:
        remember(settings, purpose, paths[0])
    return paths


def save_file_name(
    parent: QWidget, settings: Settings, title: str, name: str, filters: str, purpose: str
) -> str:
    start = str(Path(last_folder(settings, purpose)) / name)
    path, _ = QFileDialog.getSaveFileName(parent, title, start, filters)
    if path:
        remember(settings, purpose, path)
    return path
