"""The one place readers are listed.  Adding an instrument = one module + one line in ``READERS``
(a reader that lives outside this package, a plug-in or a test's, is one ``register`` call).
What a reader is: ``reader.Reader``.

``scan_paths`` asks every reader how sure it is (``detect``) and lets the most confident one scan.
The generic reader (any folder of images, optionally with a table) answers for anything, weakly.

Mixed folders: when no reader claims a folder with confidence >= ``CONFIDENT`` (0.5), its
sub-folders and zips (up to ``MAX_SPLIT_DEPTH`` levels) are asked one by one, and each claimed one
is scanned as a part of its own; images left over form a generic part.  When one reader claims the
folder, sub-folders that none of its scans read from and that another reader claims become extra
parts too.

Rules for a reader's ``detect()`` (the registry calls it on the folder *and on each sub-folder* when
splitting, so a 100,000-file tree is detected many times over):
- look at a bounded number of directory entries (the folder itself, a few levels at most);
- do per-entry work only on names that match (no ``os.path.relpath``/``stat``/``sorted`` of every
  entry: on 100,000 files that alone costs seconds; ``tests/bench/bench_scan.py`` measures it);
- never open image files; open at most a handful of small text headers.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from ..problems import Problem, UserError
from ..progress import Task, null_task
from . import listing
from .base import TABLE_COL, Detection, Scan
from .reader import Reader

# Module names under aqqua_packer.sources, most specific first.  Each is a ``reader.Reader``.
READERS: list[str] = [
    "zooscan",
    "uvp5",
    "uvp6",
    "planktoscope",
    "ecotaxa",
    "ifcb",
    "flowcam",
    "microscopy",
    "generic",
]


CONFIDENT = 0.5  # a reader this sure may take a whole folder; below it, the folder is split
MAX_SPLIT_DEPTH = 3  # how deep to look for parts when no reader claims the whole folder


_REGISTERED: dict[str, Reader] = {}  # readers added with register(), by name


def reader(name: str) -> Reader:
    """The reader called ``name``: a registered one, else the module of that name here."""
    found = _REGISTERED.get(name)
    if found is not None:
        return found
    module: Reader = importlib.import_module(f"{__package__}.{name}")  # type: ignore[assignment]
    return module


def register(name: str, module: Reader | ModuleType, *, before: str = "generic") -> None:
    """Add a reader (a module with ``detect`` and ``scan``) under ``name``; it is asked before
    the reader ``before`` (the catch-all generic reader by default).  The readers of this
    package are listed in ``READERS`` instead."""
    if name in READERS:
        raise ValueError(f"a reader called {name!r} is registered already")
    _REGISTERED[name] = module  # type: ignore[assignment]
    READERS.insert(READERS.index(before) if before in READERS else len(READERS), name)


def unregister(name: str) -> None:
    """Remove a reader added with ``register``."""
    if _REGISTERED.pop(name, None) is not None:
        READERS.remove(name)


@contextmanager
def registered(
    name: str, module: Reader | ModuleType, *, before: str = "generic"
) -> Iterator[None]:
    """``register`` for the length of a ``with`` block (a test's reader, a one-off plug-in)."""
    register(name, module, before=before)
    try:
        yield
    finally:
        unregister(name)


def detect_all(path: Path) -> list[tuple[str, Detection]]:
    """Every reader's answer for ``path``, most confident first."""
    answers = []
    for name in READERS:
        try:
            det = reader(name).detect(path)
        except UserError:
            raise
        except Exception as exc:  # a reader's bug must not hide the others' answers
            det = Detection(0.0, f"{name} reader failed: {exc}")
        answers.append((name, det))
    answers.sort(key=lambda a: a[1].confidence, reverse=True)
    return answers


def _scan_with(name: str, det: Detection, path: Path, task: Task) -> list[Scan]:
    # Detection is over for this folder: its cached listings (tens of MB for 100,000 files) would
    # otherwise be held while the reader builds its own list of every image.
    _forget_listings()
    scans = reader(name).scan(path, task)
    for s in scans:
        s.confidence = s.confidence or det.confidence
        s.reason = s.reason or det.reason
    return scans


def _children(path: Path) -> list[Path]:
    """Sub-folders and zip files directly in ``path`` (not hidden), by name."""
    out = []
    try:
        for e in listing.entries(path):
            if e.name.startswith("."):
                continue
            if e.is_dir(follow_symlinks=False) or e.name.lower().endswith(".zip"):
                out.append(Path(e.path))
    except OSError:
        return []
    return sorted(out)


def _confident(path: Path) -> tuple[str, Detection] | None:
    name, det = detect_all(path)[0]
    if det.confidence >= CONFIDENT and name != "generic":
        return name, det
    return None


def find_parts(path: Path, task: Task) -> list[tuple[Path, str, Detection]]:
    """Sub-folders and zips below ``path`` that a reader claims confidently (not looking inside a
    claimed one), breadth first, at most ``MAX_SPLIT_DEPTH`` levels down."""
    parts: list[tuple[Path, str, Detection]] = []
    level = [path]
    for _ in range(MAX_SPLIT_DEPTH):
        nxt = []
        for d in level:
            for child in _children(d):
                task.check()
                task.advance(1)
                hit = _confident(child)
                if hit:
                    parts.append((child, *hit))
                elif child.is_dir():
                    nxt.append(child)
        level = nxt
    return parts


def _covered(scans: list[Scan]) -> set[str]:
    """Folders and files the scans already read from (image sources and set-aside copies)."""
    seen: set[str] = set()
    for s in scans:
        for im in s.images:
            seen.add(os.path.normpath(im.path))
        for a in s.set_aside:
            seen.add(os.path.normpath(a.path.split(" › ")[0]))
        if hasattr(s.rows, "columns") and TABLE_COL in s.rows.columns and len(s.rows):
            for t in s.rows[TABLE_COL].unique().tolist():
                t = str(t).split(" › ")[0]
                seen.add(os.path.normpath(t if os.path.isabs(t) else os.path.join(s.root, t)))
    return seen


def _under(child: Path, seen: set[str]) -> bool:
    c = os.path.normpath(str(child))
    return any(p == c or p.startswith(c + os.sep) for p in seen)


def _report_loose_images(path: Path, scans: list[Scan], seen: set[str]) -> None:
    """Images lying directly in ``path`` that no part read: say so rather than drop them quietly."""
    from .pixels import IMAGE_SUFFIXES

    loose = []
    try:
        with os.scandir(path) as it:
            for e in it:
                dot = e.name.rfind(".")
                if (
                    dot > 0
                    and e.name[dot:].lower() in IMAGE_SUFFIXES
                    and not e.name.startswith(".")
                ):
                    if os.path.normpath(e.path) not in seen:
                        loose.append(e.name)
    except OSError:
        return
    if loose and scans:
        loose.sort()
        more = f" and {len(loose) - 3} more" if len(loose) > 3 else ""
        scans[0].problems.append(
            Problem(
                "not_read",
                f"{len(loose)} image(s) here are not part of the {scans[0].kind} data and will not be "
                f"packed: {', '.join(loose[:3])}{more}; scan them on their own (--kind generic) if they should be",
                file=str(path),
                severity="warning",
            )
        )


def scan_path(path: Path, task: Task | None = None, *, kind: str | None = None) -> list[Scan]:
    """Scan one folder, zip or file with the best reader (or the one named by ``kind``).

    A folder that no reader claims confidently as a whole is split: its sub-folders and zips are
    scanned each with its own best reader (two instruments, several cruises), and the images left
    over form one more, generic part.  A folder one reader claims may still hold other instruments'
    sub-folders; those are added as parts of their own.
    """
    task = task or null_task()
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    # One spelling of every path from here on: readers resolve links (and ".."), so the checks
    # that compare their paths with this one must too (issue 15: a folder reached through a link
    # called its own images "not part of the data").
    path = path.resolve()
    if kind is not None:
        if kind not in READERS:
            raise UserError(f"Unknown source kind {kind!r}. Known: {', '.join(READERS)}")
        return _scan_with(kind, reader(kind).detect(path), path, task)
    task.start("scan", None, unit="folders", message=f"Recognising what is in {path}")
    name, det = detect_all(path)[0]
    if det.confidence <= 0:
        raise UserError(f"{path}: no reader recognises this ({det.reason})")
    if not path.is_dir():
        return _scan_with(name, det, path, task)
    if det.confidence >= CONFIDENT and name != "generic":
        scans = _scan_with(name, det, path, task)
        seen = _covered(scans)
        for child in _children(path):
            if _under(child, seen):
                continue
            hit = _confident(child)
            if hit and hit[0] != name:
                scans.extend(_scan_with(hit[0], hit[1], child, task))
        _report_loose_images(path, scans, _covered(scans))
        return scans
    parts = find_parts(path, task)
    if not parts:
        return _scan_with(name, det, path, task)
    task.status(f"{path.name}: {len(parts)} parts recognised; reading each")
    scans = []
    for child, n, d in parts:
        for s in _scan_with(n, d, child, task):
            s.label = s.label or child.name
            scans.append(s)
    from .generic import scan as generic_scan

    _forget_listings()
    rest = generic_scan(path, task, exclude=[c for c, _, _ in parts])
    for s in rest:
        if s.images:
            s.label = f"{path.name}: other images"
            s.reason = "images outside the recognised parts"
            scans.append(s)
    return scans


def _forget_listings() -> None:
    """Readers may cache folder listings so that every detect() need not list a folder again;
    once the scan is done those listings (tens of MB for 100,000 files) are dropped."""
    listing.forget_listings()
    for name in READERS:
        forget = getattr(reader(name), "forget_listings", None)
        if forget is not None:
            forget()


def scan_paths(
    paths: list[Path],
    task: Task | None = None,
    *,
    kind: str | None = None,
    table: Path | None = None,
) -> list[Scan]:
    """Scan several sources; each may yield several parts.

    ``table`` (the CLI's ``--table``) replaces the rows of every part with that one table, and the
    image-name column is suggested afresh.
    """
    from .image_folder import suggest_image_column
    from .tables import read_table, table_problems

    out: list[Scan] = []
    try:
        for p in paths:
            with table_problems() as found:  # what readers did not add to their scans
                part = scan_path(Path(p), task, kind=kind)
            _attach(found, part)
            out.extend(part)
    finally:
        _forget_listings()
    if table is not None:
        with table_problems() as found:
            rows = read_table(Path(table))
        _attach(found, out)
        for s in out:
            s.rows = rows
            s.images = s.images.without_rows()
            col, n = suggest_image_column(rows, s.images)
            fields = s.suggested.setdefault("fields", {})
            if col:
                fields["image"] = {"column": col, "confidence": round(n / max(1, len(s.images)), 2)}
            else:
                fields.pop("image", None)
    return out


def _attach(found: list[Problem], scans: list[Scan]) -> None:
    """Table problems to the scan that holds the table's rows (else the first)."""
    for p in found:
        owner = next((s for s in scans if p.file in s.tables), scans[0] if scans else None)
        if owner is not None and p not in owner.problems:
            owner.problems.append(p)
