"""The EcoTaxa reader: export / import folders and zips, ``ecotaxa*.tsv`` tables plus the images
they name.

The reading itself (tables, joins, the suggested mapping) is in ``ecotaxa_table`` and
``ecotaxa_suggest``, which the instrument readers that find EcoTaxa tables in their folders
(``uvp6``, ``uvp5``, ``zooscan``, ``planktoscope``) use too.
"""

from __future__ import annotations

from pathlib import Path

from ..progress import Task
from .base import Detection, Scan
from .ecotaxa_table import build_scan, find_tsvs, is_type_line, peek_header
from .reader import deep_detection, depth_of, finish_scan

KIND = "ecotaxa"


def detect(path: Path) -> Detection:
    tsvs = find_tsvs(Path(path))
    if not tsvs:
        return Detection(0.0, "no ecotaxa*.tsv table found")
    top = [t for t in tsvs if depth_of(Path(path), t) == 0]
    if not top:
        return deep_detection(tsvs[0].name, "the EcoTaxa table")
    tsvs = top
    header, line2 = peek_header(tsvs[0])
    name = tsvs[0].name
    if "img_file_name" not in [h.lower() for h in header]:
        return Detection(0.3, f"found {name} but it has no img_file_name column")
    more = f" and {len(tsvs) - 1} more" if len(tsvs) > 1 else ""
    if is_type_line(line2):
        return Detection(0.7, f"found {name}{more} with the [t]/[f] type line of an EcoTaxa table")
    return Detection(
        0.6, f"found {name}{more} (an EcoTaxa table, but without its [t]/[f] type line)"
    )


def scan(path: Path, task: Task) -> list[Scan]:
    return finish_scan(task, build_scan(Path(path), task, kind=KIND))
