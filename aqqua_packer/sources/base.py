"""What every instrument reader returns: images, rows, a suggested mapping and problems.

A reader is a module in ``aqqua_packer/sources/`` with two functions (the ``reader.Reader``
protocol, checked over the registry by ``tests/sources/test_reader_contract.py``)::

    def detect(path: Path) -> Detection      # how sure am I this folder/zip/file is mine? (cheap)
    def scan(path: Path, task: Task) -> list[Scan]   # what images and rows are here?

and one line in ``registry.py``.  ``scan`` returns several ``Scan``s when one folder holds several
parts (two instruments, several cruises).  Readers never decode every image; they only locate
pixels (``ImageRef``) and read text.
"""

from __future__ import annotations

import operator
import os
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..problems import Problem, shown

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

# Columns added to ``Scan.rows`` for provenance; never offered for mapping, kept in raw metadata.
TABLE_COL = "__table__"  # the file the row came from (path relative to the scan root, or absolute)
ROW_COL = "__row__"  # the row's 1-based line number in that file, as a person counts it


@dataclass(frozen=True, slots=True)
class ImageRef:
    """Where one image's pixels are; small and picklable so worker processes can load it.

    name:    the image's name as the metadata refers to it (posix path relative to the scan root,
             or a name the reader gives, e.g. "D20130526T095207_IFCB013_00002"). Unique in a Scan.
    path:    absolute path of the file on disk that holds the pixels (an image, a zip, a .roi, ...).
    members: chain of members inside (nested) zip files, outermost first; () for a plain file.
    page:    page / frame index in a multi-page file (TIFF, GIF); None for the first/only.
    box:     (x, y, width, height) to cut from the decoded image (FlowCam collages); None for all.
    raw:     (byte offset, width, height) of an 8-bit grey raster stored raw (IFCB .roi); None else.
    row:     index (position) into ``Scan.rows`` when the reader itself links image and row; None
             when the join comes from the mapping's ``image`` column.
    size:    bytes this image occupies in its source (for estimates and progress); 0 if unknown.
    """

    name: str
    path: str
    members: tuple[str, ...] = ()
    page: int | None = None
    box: tuple[int, int, int, int] | None = None
    raw: tuple[int, int, int] | None = None
    row: int | None = None
    size: int = 0


if os.name == "posix":

    def _join(folder: str, tail: str) -> str:
        """``os.path.join(folder, tail)`` without its checks (a million calls a scan)."""
        if tail.startswith("/"):
            return tail
        return folder + tail if not folder or folder.endswith("/") else folder + "/" + tail

    def _split(path: str) -> tuple[str, str]:
        """``os.path.split(path)`` for a path with no "//" before its last part."""
        head, sep, tail = path.rpartition("/")
        if not sep or (head and not head.endswith("/")):
            return head, tail
        return os.path.split(path)

else:
    _join, _split = os.path.join, os.path.split


_ref_fields = operator.attrgetter(*ImageRef.__slots__)  # (name, path, members, ..., size)
_PLAIN: tuple = ((), None, None, None)  # members, page, box, raw of an image that is a whole file


class ImageList(Sequence[ImageRef]):
    """A scan's images stored by column, read back as ``ImageRef``s made on access.

    100,000 ``ImageRef`` objects with their name, path and size strings hold ~30 MB; here the
    names are one UTF-8 buffer, a path is a number (an image's path is most often its folder plus
    the last part of its name, and folders, zips and ``.roi`` files repeat), sizes and rows are
    machine integers: ~40 bytes an image.  Members, pages, boxes and raw offsets, which few
    images have, are kept per image only for those that have them.

    Readers build it like a list (``append``, ``extend``) or hand ``Scan`` a list, which ``Scan``
    turns into an ``ImageList``.  It is picklable and compares equal to a list of the same refs.
    """

    __slots__ = (
        "_names",
        "_ends",
        "_where",
        "_strs",
        "_str_ids",
        "_sizes",
        "_rows",
        "_extra",
        "_arrow",
    )

    def __init__(self, refs: Iterable[ImageRef] = ()):
        self._names = bytearray()  # every name, UTF-8 (surrogate escapes kept), one after another
        self._ends = array("q")  # where each name ends in _names
        # >= 0: the path is _strs[w];  < 0: it is _strs[-1 - w] (a folder) + the name's last part
        self._where = array("i")
        self._strs: list[str] = []
        self._str_ids: dict[str, int] = {}
        self._sizes = array("q")
        self._rows: array | None = None  # -1: no row; None while no image has one
        self._extra: dict[int, tuple] = {}  # position -> (members, page, box, raw), when not plain
        self._arrow: pa.Array | None = None  # the names as Arrow text, sharing _names' bytes
        self.extend(refs)

    # --- building ---
    def _intern(self, s: str) -> int:
        i = self._str_ids.get(s)
        if i is None:
            i = self._str_ids[s] = len(self._strs)
            self._strs.append(s)
        return i

    def add(
        self,
        name: str,
        path: str,
        *,
        members: tuple[str, ...] = (),
        page: int | None = None,
        box: tuple[int, int, int, int] | None = None,
        raw: tuple[int, int, int] | None = None,
        row: int | None = None,
        size: int = 0,
    ) -> None:
        """Append one image without making an ``ImageRef`` (the folder walk's hot path)."""
        head, tail = _split(path)
        if tail and tail == name.rpartition("/")[2] and _join(head, tail) == path:
            w = -1 - self._intern(head)
        else:
            w = self._intern(path)
        if self._arrow is not None:  # the bytes are shared with an Arrow array: copy, then grow
            self._names, self._arrow = bytearray(self._names), None
        self._names += name.encode("utf-8", "surrogateescape")
        self._ends.append(len(self._names))
        self._where.append(w)
        self._sizes.append(size)
        if row is not None and self._rows is None:
            self._rows = array("q", [-1]) * (len(self._ends) - 1)
        if self._rows is not None:
            self._rows.append(-1 if row is None else row)
        if members or page is not None or box is not None or raw is not None:
            self._extra[len(self._ends) - 1] = (tuple(members), page, box, raw)

    def append(self, ref: ImageRef) -> None:
        name, path, members, page, box, raw, row, size = _ref_fields(ref)
        self.add(name, path, members=members, page=page, box=box, raw=raw, row=row, size=size)

    def extend(self, refs: Iterable[ImageRef]) -> None:
        for ref in refs:
            self.append(ref)

    def without_rows(self) -> ImageList:
        """The same images, none linked to a row (a table given for the whole scan replaces the
        reader's own)."""
        out = ImageList()
        out._names, out._ends, out._where = self._names[:], self._ends[:], self._where[:]
        out._strs, out._str_ids = self._strs[:], dict(self._str_ids)
        out._sizes, out._extra = self._sizes[:], dict(self._extra)
        out._rows, out._arrow = None, None
        return out

    # --- reading ---
    def __len__(self) -> int:
        return len(self._ends)

    def name(self, i: int) -> str:
        a = self._ends[i - 1] if i else 0
        return self._names[a : self._ends[i]].decode("utf-8", "surrogateescape")

    def is_plain(self, i: int) -> bool:
        """Whether image ``i`` is a whole file (no zip member, page, box or byte range)."""
        return i not in self._extra

    def path(self, i: int) -> str:
        w = self._where[i]
        if w >= 0:
            return self._strs[w]
        return _join(self._strs[-1 - w], self.name(i).rpartition("/")[2])

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self._ends)
        i = operator.index(i)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("image index out of range")
        name = self.name(i)
        w = self._where[i]
        path = self._strs[w] if w >= 0 else _join(self._strs[-1 - w], name.rpartition("/")[2])
        members, page, box, raw = self._extra.get(i, _PLAIN)
        row = -1 if self._rows is None else self._rows[i]
        return ImageRef(
            name, path, members, page, box, raw, None if row < 0 else row, self._sizes[i]
        )

    def __iter__(self) -> Iterator[ImageRef]:
        for i in range(len(self._ends)):
            yield self[i]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __repr__(self) -> str:
        return f"<ImageList of {len(self)} images>"

    def names(self) -> list[str]:
        return [self.name(i) for i in range(len(self))]

    def cut_out(self) -> list[int]:
        """Positions of the images cut from a file: a ``box`` (collage) or ``raw`` byte range."""
        return [i for i, e in self._extra.items() if e[2] is not None or e[3] is not None]

    def whole_files(self) -> np.ndarray:
        """True for each image that is a whole file of its own (no zip member, page, box or raw
        offset): its ``size`` is then the file's size on disk."""
        import numpy as np

        out = np.ones(len(self), dtype=bool)
        if self._extra:
            out[np.fromiter(self._extra, dtype=np.int64, count=len(self._extra))] = False
        return out

    def sizes(self) -> np.ndarray:
        """Bytes of each image in its source (int64)."""
        import numpy as np

        return np.frombuffer(self._sizes, dtype=np.int64).copy()

    def rows(self) -> np.ndarray:
        """Each image's row position (int64), -1 when the reader linked none."""
        import numpy as np

        if self._rows is None:
            return np.full(len(self), -1, dtype=np.int64)
        return np.frombuffer(self._rows, dtype=np.int64).copy()

    def names_arrow(self) -> pa.Array:
        """The names as an Arrow text array, no Python string each.  The list keeps its names in
        the array's buffer from then on (one copy of them, not two), until an image is added."""
        import pyarrow as pa

        if self._arrow is not None:
            return self._arrow
        n = len(self)
        data = bytes(self._names)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:  # a name from an undecodable file name: Python's view of it
            return pa.array(
                [
                    self.name(i).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                    for i in range(n)
                ],
                pa.large_string(),
            )
        offsets = array("q", [0])
        offsets.extend(self._ends)
        self._names = data  # shared with the Arrow array below (py_buffer does not copy)
        self._arrow = pa.LargeStringArray.from_buffers(
            n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data)
        )
        return self._arrow


def as_image_list(images: Iterable[ImageRef]) -> ImageList:
    return images if isinstance(images, ImageList) else ImageList(images)


@dataclass(frozen=True)
class SetAside:
    """A file the reader saw but will not pack, and why (a JPEG preview of a raw TIFF, a zip copy,
    a ``_bin`` mask collage, a scale-bar vignette of rank 2, ...)."""

    path: str
    reason: str
    kept: str | None = None  # the name of the image kept instead, if it is a copy


@dataclass(frozen=True)
class Detection:
    confidence: float  # 0.0 = not mine, 1.0 = certainly mine
    reason: str  # one line for the user: "found ecotaxa_b_da_19.tsv with [t]/[f] type line"


@dataclass
class Scan:
    """One recognised part of what the user pointed at."""

    kind: str  # reader name: "ecotaxa", "uvp6", "ifcb", "flowcam", "generic", ...
    root: Path  # the folder, zip or file this part was read from
    images: ImageList = field(default_factory=ImageList)  # a list given here becomes an ImageList
    # Every metadata row, all values as text exactly as written ("" for empty), original column
    # names, plus TABLE_COL and ROW_COL.  Header/settings values that apply to every row may be
    # added as columns too (prefix them, e.g. "hdr:sampleTime"), so raw metadata keeps them.
    rows: pd.DataFrame = field(default_factory=lambda: _no_rows())
    # Suggested mapping as a profile dict (see mapping/model.py): {"fields": {name: spec, ...}}.
    # Optional "to_confirm": {name: spec, ...}: guesses the user must confirm before they apply (e.g.
    # IFCB's usual 3.4 px/µm); the mapping does not apply them, the scan and the GUI offer them.
    suggested: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    set_aside: list[SetAside] = field(default_factory=list)
    confidence: float = 0.0
    reason: str = ""
    label: str = ""  # a human name for this part ("UVP6 b_da_19", "cruise m106")
    sensor: str = ""  # instrument as iFDO image-set-sensor ("UVP6", "IFCB013", ...)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "images":
            value = as_image_list(value)
        object.__setattr__(self, name, value)

    @property
    def tables(self) -> list[str]:
        if TABLE_COL in self.rows.columns:
            return list(dict.fromkeys(self.rows[TABLE_COL].tolist()))
        return []

    @property
    def columns(self) -> list[str]:
        return [c for c in self.rows.columns if c not in (TABLE_COL, ROW_COL)]


def _no_rows() -> pd.DataFrame:
    # pandas is imported here, not at the top: the pack's worker processes import this module
    # for ImageRef and should not carry pandas and Arrow (~60 MB each) for nothing.
    import pandas as pd

    return pd.DataFrame()


def image_name(rel: str) -> str:
    """The name an image is stored under, from its path relative to the scan root: the path
    itself when it is UTF-8; else ``%`` written ``%25`` and each byte that is not UTF-8 ``%XX``,
    so the original bytes can always be recovered (``urllib.parse.unquote_to_bytes``)."""
    shown_rel = shown(rel)
    if shown_rel is rel:
        return rel
    return shown(rel.replace("%", "%25"))
