"""What every instrument reader returns: images, rows, a suggested mapping and problems.

A reader is a module in ``aqqua_packer/sources/`` with two functions::

    def detect(path: Path) -> Detection      # how sure am I this folder/zip/file is mine? (cheap)
    def scan(path: Path, task: Task) -> list[Scan]   # what images and rows are here?

and one line in ``registry.py``.  ``scan`` returns several ``Scan``s when one folder holds several
parts (two instruments, several cruises).  Readers never decode every image; they only locate
pixels (``ImageRef``) and read text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..problems import Problem

if TYPE_CHECKING:
    import pandas as pd

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
    images: list[ImageRef] = field(default_factory=list)
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
