"""Any folder of images, with or without a metadata table: the reader of last resort.

Images are every PNG/JPEG/TIFF/BMP/GIF below the folder (hidden files skipped); the table is the
one CSV/TSV/XLSX in the folder, if there is exactly one.  The join column is suggested as the
column whose values name the most images.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..problems import Problem
from ..progress import Task
from .base import ROW_COL, TABLE_COL, Detection, ImageRef, Scan
from .pixels import IMAGE_SUFFIXES
from .tables import TABLE_SUFFIXES, read_table


def _walk(root: Path, task: Task):
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError:
            continue
        for e in entries:
            if e.name.startswith("."):
                continue
            if e.is_dir(follow_symlinks=False):
                stack.append(Path(e.path))
            else:
                yield e
        task.check()


def detect(path: Path) -> Detection:
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return Detection(0.1, f"{path.name} is an image file")
        return Detection(0.0, f"{path.name} is not an image")
    if path.is_dir():
        return Detection(0.05, "a folder; looking for any images in it")
    return Detection(0.0, "not a folder or image")


def suggest_image_column(rows: pd.DataFrame, images: list[ImageRef]) -> tuple[str | None, int]:
    """The column whose values name the most images (by path, file name or stem)."""
    if rows.empty or not images:
        return None, 0
    keys: set[str] = set()
    for im in images:
        p = im.name.lower()
        keys.update({p, p.rsplit("/", 1)[-1], os.path.splitext(p.rsplit("/", 1)[-1])[0]})
    best, best_n = None, 0
    for col in rows.columns:
        if col in (TABLE_COL, ROW_COL):
            continue
        vals = rows[col].astype(str).str.strip().str.lower().str.replace("\\", "/", regex=False)
        n = int(vals.isin(keys).sum())
        if n > best_n:
            best, best_n = col, n
    return best, best_n


def scan(path: Path, task: Task, table: Path | None = None) -> list[Scan]:
    path = Path(path).resolve()
    problems: list[Problem] = []
    images: list[ImageRef] = []
    tables: list[Path] = []
    task.start("scan", None, unit="files", message=f"Looking for images in {path}")
    if path.is_file():
        entries = [os.stat(path)]
        images.append(ImageRef(name=path.name, path=str(path), size=entries[0].st_size))
        root = path.parent
    else:
        root = path
        for e in _walk(path, task):
            suffix = os.path.splitext(e.name)[1].lower()
            rel = os.path.relpath(e.path, path).replace(os.sep, "/")
            if suffix in IMAGE_SUFFIXES:
                images.append(ImageRef(name=rel, path=e.path, size=e.stat().st_size))
            elif suffix in TABLE_SUFFIXES and "/" not in rel:
                tables.append(Path(e.path))
            task.advance(1)
    if table is not None:
        tables = [Path(table)]
    rows = pd.DataFrame()
    if len(tables) == 1:
        t = tables[0]
        rows = read_table(t, name=str(t))
    elif len(tables) > 1:
        problems.append(
            Problem(
                "ambiguous_table",
                "several tables found; choose one with --table: " + ", ".join(t.name for t in tables),
                file=str(root),
                severity="warning",
            )
        )
    if not images:
        problems.append(Problem("no_images", "no images found (PNG, JPEG, TIFF, BMP, GIF)", file=str(path)))
    suggested: dict = {"fields": {}}
    col, n = suggest_image_column(rows, images)
    if col:
        suggested["fields"]["image"] = {"column": col, "confidence": round(n / max(1, len(images)), 2)}
    task.finish(f"{len(images)} images, {len(rows)} rows")
    return [
        Scan(
            kind="generic",
            root=root,
            images=images,
            rows=rows,
            suggested=suggested,
            problems=problems,
            label=root.name,
        )
    ]
