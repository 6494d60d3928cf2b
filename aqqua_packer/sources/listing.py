"""A folder or a zip, listed without extracting anything, and the cheap listing that the readers'
``detect`` functions share.

* ``list_tree`` lists every file below a folder or a zip, opening zips (and zips inside zips) in
  place: nothing is ever extracted, and a member whose name climbs out of its zip (``../``,
  ``/abs``, ``C:\\``) is refused with a message.
* ``shallow`` lists what is near the top of a folder, images left out, cached for a few seconds so
  that every reader's ``detect`` can ask the same question.
"""

from __future__ import annotations

import functools
import io
import itertools
import os
import posixpath
import re
import threading
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from ..problems import Problem
from ..progress import Task
from .base import ImageRef
from .pixels import IMAGE_SUFFIXES, read_bytes

MAX_NESTED_ZIP_BYTES = 2_000_000_000  # a zip inside a zip is read into memory to be listed


@dataclass(frozen=True)
class Entry:
    """One file below the source root: a plain file or a member of (nested) zips."""

    name: str  # posix path relative to the root; a zip's members appear under the zip's name
    path: str  # the file on disk (the outermost zip for members)
    members: tuple[str, ...] = ()
    size: int = 0

    @property
    def display(self) -> str:
        """Where a person finds it: '/data/x.zip › sub/ecotaxa_x.tsv'."""
        return " › ".join([self.path, *self.members])

    @property
    def suffix(self) -> str:
        return posixpath.splitext(self.name)[1].lower()

    @property
    def basename(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    def ref(self, name: str | None = None, row: int | None = None) -> ImageRef:
        return ImageRef(
            name=name or self.name, path=self.path, members=self.members, row=row, size=self.size
        )

    def read(self) -> bytes:
        return read_bytes(ImageRef(name=self.name, path=self.path, members=self.members))


def unsafe_member_name(name: str) -> bool:
    """True when a zip member's name would land outside the folder it were extracted into."""
    n = name.replace("\\", "/")
    if n.startswith("/") or re.match(r"^[A-Za-z]:", n):
        return True
    return any(part == ".." for part in n.split("/"))


@dataclass
class Tree:
    """Every file below ``root`` (a folder, a zip or a single file), by posix name."""

    root: Path
    entries: dict[str, Entry] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    _lower: dict[str, str] | None = None

    def find(self, name: str) -> Entry | None:
        """The entry called ``name``; falls back to a case-insensitive match (Windows exports)."""
        e = self.entries.get(name)
        if e is not None:
            return e
        if self._lower is None:
            self._lower = {}
            for k in self.entries:
                self._lower.setdefault(k.lower(), k)
        k = self._lower.get(name.lower())
        return self.entries.get(k) if k else None

    def display(self, name: str) -> str:
        e = self.entries.get(name)
        return e.display if e else str(self.root / name)

    def select(self, pattern: re.Pattern[str]) -> list[Entry]:
        return [e for e in self.entries.values() if pattern.search(e.basename)]

    def listing_problems(self, path: Path) -> list[Problem]:
        """What went wrong while listing ``path``; that it is empty when it holds no file at all."""
        problems = list(self.problems)
        if not self.entries and not problems:
            what = "zip" if Path(path).is_file() else "folder"
            problems.append(
                Problem("empty", f"the {what} is empty: no files in it", file=str(path))
            )
        return problems


def _add_zip(
    tree: Tree,
    zf: zipfile.ZipFile,
    disk_path: str,
    chain: tuple[str, ...],
    prefix: str,
    task: Task,
    depth: int = 0,
) -> None:
    where = " › ".join([disk_path, *chain])
    for info in zf.infolist():
        member = info.filename
        if info.is_dir():
            continue
        if unsafe_member_name(member):
            tree.problems.append(
                Problem(
                    "unsafe_path",
                    f"refused the zip member {member!r}: its name points outside the zip "
                    "('../' or an absolute path); it is neither read nor written anywhere",
                    file=where,
                    value=member,
                )
            )
            continue
        clean = posixpath.normpath(member.replace("\\", "/"))
        base = clean.rsplit("/", 1)[-1]
        if base.startswith(".") or clean.startswith("__MACOSX/"):
            continue
        name = f"{prefix}{clean}"
        members = (*chain, member)
        if clean.lower().endswith(".zip") and depth < 4:
            if info.file_size > MAX_NESTED_ZIP_BYTES:
                tree.problems.append(
                    Problem(
                        "bad_file",
                        f"the zip inside the zip is larger than {MAX_NESTED_ZIP_BYTES // 10**9} GB; "
                        "unpack the outer zip first",
                        file=f"{where} › {member}",
                        severity="warning",
                    )
                )
                continue
            try:
                inner = zipfile.ZipFile(io.BytesIO(zf.read(member)))
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                tree.problems.append(
                    Problem(
                        "bad_file",
                        f"cannot open the zip inside the zip ({exc})",
                        file=f"{where} › {member}",
                    )
                )
                continue
            with inner:
                _add_zip(tree, inner, disk_path, members, f"{name}/", task, depth + 1)
            continue
        tree.entries[name] = Entry(name, disk_path, members, info.file_size)
        task.advance(1)


def open_zip(tree: Tree, path: Path, prefix: str, task: Task) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            _add_zip(tree, zf, str(path), (), prefix, task)
    except (zipfile.BadZipFile, OSError) as exc:
        tree.problems.append(Problem("bad_file", f"cannot open the zip ({exc})", file=str(path)))


def list_tree(root: Path, task: Task, *, open_zips: bool = True, skip: Iterable[str] = ()) -> Tree:
    """List every file below a folder (and inside its zips) or inside a zip; never extracts.

    ``skip`` names top-level folders not to descend into (e.g. a PlanktoScope's ``img``).
    """
    root = Path(root)
    tree = Tree(root)
    skip_set = {s.lower() for s in skip}
    if root.is_file():
        if root.suffix.lower() == ".zip":
            open_zip(tree, root, "", task)
        else:
            st = root.stat()
            tree.root = root.parent
            tree.entries[root.name] = Entry(root.name, str(root), (), st.st_size)
        return tree
    stack: list[tuple[str, Path]] = [("", root)]
    while stack:
        rel_dir, d = stack.pop()
        try:
            with os.scandir(d) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            tree.problems.append(
                Problem(
                    "bad_file",
                    f"cannot list the folder ({exc.strerror or exc})",
                    file=str(d),
                    severity="warning",
                )
            )
            continue
        for e in items:
            if e.name.startswith("."):
                continue
            rel = rel_dir + e.name
            try:
                if e.is_dir(follow_symlinks=False):
                    if rel_dir or rel.lower() not in skip_set:
                        stack.append((f"{rel}/", Path(e.path)))
                    continue
                size = e.stat().st_size
            except OSError:
                continue
            if open_zips and e.name.lower().endswith(".zip"):
                open_zip(tree, Path(e.path), f"{rel}/", task)
                continue
            tree.entries[rel] = Entry(rel, e.path, (), size)
            task.advance(1)
        task.check()
    return tree


# --- cheap recognition ------------------------------------------------------------------------
class Near(NamedTuple):
    """A file or folder near the top of a source folder, as ``shallow`` lists it."""

    rel: str  # posix path relative to the folder
    path: str
    is_dir: bool


def shallow(path: Path, *, max_depth: int = 4, max_deeper: int = 20000) -> list[Near]:
    """Folders and files other than images near the top of ``path``, cheaply, for the readers'
    ``detect`` (which look for tables, zips, ``.pid`` and ``metadata.json`` files, never images).

    The top level is listed whole (a folder of 100,000 images takes a few tens of milliseconds:
    names only, no ``stat``); below it at most ``max_deeper`` entries are looked at.  Images are
    counted but not kept: a listing of 100,000 of them held 17 MB, once per cached answer.  The
    answer is cached for a few seconds (and while the folder is unchanged), since every reader's
    ``detect`` asks the same question one after the other.
    """
    path = Path(path)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return []
    return _shallow(str(path), (mtime, int(time.monotonic() // 5)), max_depth, max_deeper)


def forget_listings() -> None:
    """Drop the cached listings (the registry calls this when a scan is done)."""
    _shallow.cache_clear()
    with _ENTRIES_LOCK:
        _ENTRIES.clear()


MAX_KEPT_ENTRIES = 5000  # a larger folder is listed again by each reader, not held
_ENTRIES: dict[tuple[str, int, int], tuple[os.DirEntry, ...]] = {}
_ENTRIES_LOCK = threading.Lock()


def entries(path: str | Path) -> Iterable[os.DirEntry]:
    """``os.scandir(path)``'s entries (OSError when it cannot list, at once), kept a few seconds
    (and while the folder is unchanged) for a folder of at most ``MAX_KEPT_ENTRIES``: every
    reader's ``detect`` lists each sub-folder of a source being split, and a folder of 1,000
    images listed seven times cost more than the readers' look at the names.  An entry keeps
    what it learnt (whether it is a folder, a file), so each reader sees what ``os.scandir``
    would have told it; a larger folder is listed afresh each time, as far as it is read."""
    path = str(path)
    key = (path, os.stat(path).st_mtime_ns, int(time.monotonic() // 5))
    got = _ENTRIES.get(key)
    if got is not None:
        return got
    it = os.scandir(path)
    head = tuple(itertools.islice(it, MAX_KEPT_ENTRIES + 1))
    if len(head) > MAX_KEPT_ENTRIES:
        return itertools.chain(head, _rest(it))
    it.close()
    with _ENTRIES_LOCK:  # the window's checks run on a thread of their own
        if len(_ENTRIES) >= 8:
            _ENTRIES.pop(next(iter(_ENTRIES)))
        _ENTRIES[key] = head
    return head


def _rest(it) -> Iterator[os.DirEntry]:
    with it:
        yield from it


@functools.lru_cache(maxsize=16)
def _shallow(path: str, when: tuple[int, int], max_depth: int, max_deeper: int) -> list[Near]:
    del when  # part of the cache key only
    out: list[Near] = []
    level = [("", path)]
    seen = 0
    for depth in range(max_depth + 1):
        nxt = []
        for rel_dir, d in level:
            try:
                with os.scandir(d) as it:
                    for e in it:
                        if depth > 0:
                            seen += 1
                            if seen > max_deeper:
                                return out
                        name = e.name
                        if name[0] == ".":
                            continue
                        dot = name.rfind(".")
                        if dot > 0 and name[dot:].lower() in IMAGE_SUFFIXES:
                            continue  # an image (a folder named "x.png" is not worth a stat)
                        try:
                            is_dir = e.is_dir(follow_symlinks=False)
                        except OSError:
                            continue
                        out.append(Near(rel_dir + name, e.path, is_dir))
                        if is_dir:
                            nxt.append((f"{rel_dir}{name}/", e.path))
            except OSError:
                continue
        level = nxt
    return out


def shallow_files(path: Path, suffixes: tuple[str, ...]) -> list[Near]:
    """The files ``shallow`` lists whose names end with one of ``suffixes`` (lower case)."""
    return [n for n in shallow(path) if not n.is_dir and n.rel.lower().endswith(suffixes)]
