"""Images in a folder or a zip, with or without a metadata table: what the generic reader reads
and the microscopy reader builds on.

Images are every PNG/JPEG/TIFF/BMP/GIF below the folder (hidden files skipped), also inside zip
files (and zips inside those); the table is the one CSV/TSV/XLSX in the folder, if there is exactly
one.  The join column is suggested as the column whose values name the most images.  The same
picture kept twice (a JPEG preview, a zip copy) is packed once: see ``copies.py``.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import NamedTuple

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..problems import Problem, UserError
from ..progress import Task
from .base import (
    ROW_COL,
    TABLE_COL,
    ImageList,
    ImageRef,
    Scan,
    as_image_list,
    image_name,
    shown,
)
from .copies import set_aside_copies
from .pixels import IMAGE_SUFFIXES
from .tables import TABLE_SUFFIXES, name_keys, read_table, table_problems, text_arrow

MAX_ZIP_DEPTH = 3


class FileEntry(NamedTuple):
    """A file found by ``walk``: lighter than ``os.DirEntry`` (a folder of 100,000 files held as
    DirEntries while sorting costs ~70 MB; as names, a fifth of that)."""

    name: str
    path: str

    def stat(self) -> os.stat_result:
        return os.stat(self.path)


def walk(
    root: Path,
    task: Task,
    exclude: Iterable[Path] = (),
    problems: list[Problem] | None = None,
) -> Iterator[FileEntry]:
    """Every non-hidden file below ``root`` (sorted by name within a folder), skipping the folders
    and files in ``exclude``; one ``task.check()`` per folder.  A folder that cannot be listed
    (permission denied) is named in ``problems`` when given."""
    skip = {os.path.normpath(str(p)) for p in exclude}
    stack = [str(root)]
    while stack:
        d = stack.pop()
        files: list[str] = []
        folders: list[str] = []
        try:
            with os.scandir(d) as it:
                # the type comes free with the listing on most file systems; names are kept in
                # two lists, not as (name, is-folder) pairs (5 MB more for 100,000 files)
                for e in it:
                    if not e.name.startswith("."):
                        (folders if e.is_dir(follow_symlinks=False) else files).append(e.name)
        except OSError as exc:
            if problems is not None:
                problems.append(
                    Problem(
                        "bad_file",
                        f"cannot read the folder ({exc.strerror or exc}); the images in it are not packed",
                        file=shown(d),
                    )
                )
            continue
        files.sort()
        folders.sort()
        prefix = os.path.join(d, "")  # + a file name: os.path.join(d, name), once a folder
        for i, name in enumerate(files):
            if i % 4096 == 4095:
                task.check()
            path = prefix + name
            if skip and os.path.normpath(path) in skip:
                continue
            yield FileEntry(name, path)
        del files
        subdirs = [os.path.join(d, name) for name in folders]
        if skip:
            subdirs = [p for p in subdirs if os.path.normpath(p) not in skip]
        stack.extend(reversed(subdirs))
        task.check()


def _safe_member(name: str) -> bool:
    p = PurePosixPath(name.replace("\\", "/"))
    return not (p.is_absolute() or ".." in p.parts or (p.parts and ":" in p.parts[0]))


def zip_images(
    path: str,
    name_prefix: str,
    problems: list[Problem],
    *,
    members: tuple[str, ...] = (),
    zf: zipfile.ZipFile | None = None,
    depth: int = 0,
) -> list[ImageRef]:
    """Images inside a zip (and zips inside it), named ``<prefix>/<member>``; never extracted."""
    out: list[ImageRef] = []
    where = " › ".join([path, *members])
    try:
        own = zf is None
        zf = zf or zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        problems.append(Problem("bad_file", f"cannot open the zip file ({exc})", file=where))
        return out
    try:
        for info in zf.infolist():
            if info.is_dir():
                continue
            m = info.filename
            base = m.rsplit("/", 1)[-1]
            if base.startswith(".") or "__MACOSX" in m:
                continue
            suffix = os.path.splitext(base)[1].lower()
            if suffix not in IMAGE_SUFFIXES and suffix != ".zip":
                continue
            if not _safe_member(m):
                problems.append(
                    Problem(
                        "unsafe_path",
                        "a member's path leads outside the zip; it is skipped",
                        file=where,
                        value=m,
                        severity="warning",
                    )
                )
                continue
            if suffix == ".zip":
                if depth >= MAX_ZIP_DEPTH:
                    continue
                try:
                    inner = zipfile.ZipFile(io.BytesIO(zf.read(m)))
                except (zipfile.BadZipFile, OSError) as exc:
                    problems.append(
                        Problem(
                            "bad_file",
                            f"cannot open the zip inside the zip ({exc})",
                            file=f"{where} › {m}",
                        )
                    )
                    continue
                out.extend(
                    zip_images(
                        path,
                        f"{name_prefix}/{m}",
                        problems,
                        members=(*members, m),
                        zf=inner,
                        depth=depth + 1,
                    )
                )
                continue
            out.append(
                ImageRef(
                    name=f"{name_prefix}/{m}", path=path, members=(*members, m), size=info.file_size
                )
            )
    finally:
        if own:
            zf.close()
    return out


def suggest_image_column(rows: pd.DataFrame, images: Sequence[ImageRef]) -> tuple[str | None, int]:
    """The column whose values name the most images (by path, file name or stem).

    Compared in Arrow, without a Python string per name or value (a set of three keys per image
    held 25 MB for 100,000 images); case is folded the way Arrow folds it (``utf8_lower``)."""
    if rows.empty or not len(images):
        return None, 0
    low = pc.utf8_lower(as_image_list(images).names_arrow())
    base = pc.replace_substring_regex(low, r"^.*/", "")
    stem = pc.replace_substring_regex(base, r"^(.*[^.])\.[^.]*$", r"\1")  # as os.path.splitext
    keys = pa.concat_arrays([low, base, stem])  # is_in makes a set of them
    del low, base, stem
    # Several columns in one look-up: ``is_in`` builds its hash of ``keys`` (three per image) on
    # each call, which for 1,000,000 images costs a second; batches of ~4 M values bound memory.
    cols = [c for c in rows.columns if c not in (TABLE_COL, ROW_COL)]
    per = max(1, 4_000_000 // len(rows))
    hits: list[int] = []
    for k in range(0, len(cols), per):
        batch = cols[k : k + per]
        found = pc.is_in(pa.concat_arrays([name_keys(rows[c]) for c in batch]), value_set=keys)
        counts = found.to_numpy(zero_copy_only=False).reshape(len(batch), len(rows)).sum(axis=1)
        hits.extend(int(n) for n in counts)
    best, best_n = None, 0
    for col, n in zip(cols, hits, strict=True):
        if n > best_n:
            best, best_n = col, n
    return best, best_n


def collect(
    path: Path, task: Task, *, exclude: Iterable[Path] = ()
) -> tuple[Path, ImageList, list[Path], list[Problem]]:
    """(root, images, tables in the top folder, problems) below ``path`` (a folder, zip or image)."""
    path = Path(path).resolve()
    problems: list[Problem] = []
    images = ImageList()
    tables: list[Path] = []
    task.start("scan", None, unit="files", message=f"Looking for images in {path}")
    if path.is_file():
        root = path.parent
        if path.suffix.lower() == ".zip":
            images.extend(zip_images(str(path), path.name, problems))
        else:
            size = _image_size(str(path), problems)
            if size is not None:
                stored = image_name(path.name)
                if stored is not path.name:
                    problems.append(_escaped_name(str(path), stored))
                images.append(ImageRef(name=stored, path=str(path), size=size))
        task.advance(1)
        return root, images, tables, problems
    root = path
    n = 0
    cut = len(str(path)) + 1  # walk() yields paths that start with "<path>/"
    for e in walk(path, task, exclude, problems):
        name = e.name
        dot = name.rfind(".")
        suffix = name[dot:].lower() if dot > 0 else ""
        if suffix in IMAGE_SUFFIXES:
            size = _image_size(e.path, problems)
            if size is not None:
                rel = e.path[cut:].replace(os.sep, "/")
                stored = image_name(rel)
                if stored is not rel:
                    problems.append(_escaped_name(e.path, stored))
                images.add(stored, e.path, size=size)
        elif suffix == ".zip":
            images.extend(zip_images(e.path, e.path[cut:].replace(os.sep, "/"), problems))
        elif suffix in TABLE_SUFFIXES and os.path.dirname(e.path) == str(path):
            tables.append(Path(e.path))
        n += 1
        if n % 512 == 0:
            task.advance(512)
    task.advance(n % 512)
    return root, images, tables, problems


def _escaped_name(path: str, stored: str) -> Problem:
    return Problem(
        "name_not_utf8",
        f"the file name is not UTF-8 text; the image is packed under the name {stored!r} (each"
        " byte that is not UTF-8 written %XX, a % written %25); a table row must name it so",
        file=shown(path),
        value=stored,
        severity="warning",
    )


def _image_size(path: str, problems: list[Problem]) -> int | None:
    """The size of an image file, or ``None`` with a problem naming it when it cannot be read
    as a file: a link to nothing, no permission, a pipe or device named like an image."""
    try:
        st = os.stat(path)
    except OSError as exc:
        why = (
            "it is a link to something that does not exist"
            if os.path.islink(path)
            else f"cannot read it ({exc.strerror or exc})"
        )
        problems.append(Problem("bad_file", f"{why}; it is not packed", file=shown(path)))
        return None
    if not stat.S_ISREG(st.st_mode):
        problems.append(
            Problem(
                "bad_file",
                "not a regular file (a pipe, socket or device named like an image); it is not packed",
                file=shown(path),
            )
        )
        return None
    return st.st_size


def read_image_folder(
    path: Path,
    task: Task,
    table: Path | None = None,
    *,
    exclude: Iterable[Path] = (),
    kind: str = "generic",
) -> Scan:
    """The images below ``path`` (a folder, zip or image) and its one table (or ``table``), the
    copies set aside and the image-name column suggested; the reader calls ``finish_scan``."""
    path = Path(path).resolve()
    root, images, tables, problems = collect(path, task, exclude=exclude)
    if table is not None:
        tables = [Path(table)]
    if table is None and len(tables) > 1:
        # A README.txt beside data.csv is not a second table.
        proper = [t for t in tables if t.suffix.lower() not in (".txt",)]
        tables = proper or tables
    rows = pd.DataFrame()
    if len(tables) == 1:
        t = tables[0]
        name = os.path.relpath(t, root) if Path(t).is_relative_to(root) else str(t)
        try:
            with table_problems() as found:
                rows = read_table(t, name=name)
            problems.extend(found)
        except UserError as exc:
            if table is not None:
                raise
            problems.append(
                Problem(
                    "bad_table",
                    f"cannot use it as the metadata table: {exc}",
                    file=name,
                    row=next((p.row for p in exc.problems if p.row is not None), None),
                    severity="warning",
                )
            )
    elif len(tables) > 1:
        problems.append(
            Problem(
                "ambiguous_table",
                "several tables found; choose one with --table: "
                + ", ".join(t.name for t in tables),
                file=str(root),
                severity="warning",
            )
        )
    if not images:
        what = (
            "the folder is empty"
            if not any(True for _ in walk(path, task))
            else "no images found (PNG, JPEG, TIFF, BMP, GIF)"
            if path.is_dir()
            else "no images found in it"
        )
        problems.append(Problem("no_images", what, file=str(path)))
    task.status(f"Looking for copies among {len(images)} images")
    # a JPEG a row names is not set aside as the preview of a sibling another row names
    col, n = suggest_image_column(rows, images)
    named = text_arrow(rows[col]).drop_null() if col else []  # a list only if copies are found
    images, aside = set_aside_copies(images, task, named)
    del named
    suggested: dict = {"fields": {}}
    if aside:
        col, n = suggest_image_column(rows, images)
    if col:
        suggested["fields"]["image"] = {
            "column": col,
            "confidence": round(n / max(1, len(images)), 2),
            "reason": f"{n} of its values name an image",
        }
    return Scan(
        kind=kind,
        root=root,
        images=images,
        rows=rows,
        suggested=suggested,
        problems=problems,
        set_aside=aside,
        label=path.name,
    )
