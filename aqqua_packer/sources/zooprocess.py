"""ZooProcess's files, shared by the readers of the instruments it processes (ZooScan, UVP5).

Per scan or profile ZooProcess writes a ``<name>_dat1.pid``: INI-like ``key= value`` sections
(``[Sample]`` holds the sample header), then ``[Data]``: a ';' table with one row per object, whose
vignette is ``<Label>_<Item>.jpg`` (ZooScan: ``Label`` names the scan) or ``<profile>_<Item>.jpg``
(UVP5).  Its sample headers give latitude/longitude in the historical DD.MM form.  Sources:
ZooProcess-lib ``LegacyMeta.PidFile``; docs/instruments.md, "UVP5" and "ZooScan (ZooProcess)".
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

from ..problems import Problem, UserError
from .base import ROW_COL, TABLE_COL, ImageRef
from .listing import Entry
from .pixels import IMAGE_SUFFIXES
from .suggested import col, samples, spec
from .tables import read_text_table

PID_NAME = re.compile(r"_dat\d*\.pid$", re.I)


def read_pid_text(text: str, where: str, table_name: str) -> tuple[dict[str, str], pd.DataFrame]:
    """A ``.pid``: INI-like ``key= value`` sections, then ``[Data]`` with a ';' table."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    settings: dict[str, str] = {}
    data_at = None
    for i, line in enumerate(lines):
        s = line.strip()
        if s.lower() == "[data]":
            data_at = i + 1
            break
        if s.startswith("[") and s.endswith("]"):
            continue  # section names: pid_section() reads one section on its own
        if "=" in s:
            k, _, v = s.partition("=")
            settings.setdefault(k.strip(), v.strip())
    if data_at is None:
        raise UserError(
            f"{where}: no [Data] section: not a ZooProcess .pid file, or it was cut short"
        )
    table = "\n".join(lines[data_at:])
    if not table.strip():
        return settings, pd.DataFrame()
    rows = read_text_table(table, where, delimiter=";")
    rows.columns = [c.lstrip("!") if c.startswith("!") else c for c in rows.columns]
    rows[ROW_COL] = rows[ROW_COL] + data_at  # line numbers in the whole file
    rows[TABLE_COL] = table_name
    return settings, rows


def pid_section(text: str, section: str) -> dict[str, str]:
    """One section of a ``.pid`` as {lower-case key: value}; ``[Sample]`` holds the sample header
    ZooProcess copied from ``Zooscan_meta`` when the scan was processed (same names, lower-cased
    as in ``zooscan_sample_header_table.csv``)."""
    out: dict[str, str] = {}
    inside = False
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        s = line.strip()
        if s.startswith("[") and s.endswith("]"):
            if inside or s.lower() == "[data]":
                break
            inside = s[1:-1].strip().lower() == section.lower()
            continue
        if inside and "=" in s:
            k, _, v = s.partition("=")
            out.setdefault(k.strip().lower(), v.strip())
    return out


def add_pid_objects(
    rows: pd.DataFrame,
    prow: pd.DataFrame,
    vignettes: Iterable[Entry],
    *,
    pid: Entry,
    prefix: str | None,
    images: list[ImageRef],
    used: set[str],
    problems: list[Problem],
) -> pd.DataFrame:
    """Append the object rows ``prow`` of the ``.pid`` ``pid`` to ``rows`` and link each to its
    vignette ``<prefix>_<Item>`` among ``vignettes`` (appended to ``images``, named in ``used``).

    ``prefix`` is fixed for UVP5 (the profile's name); ``None`` takes each row's ``Label``
    (ZooScan: the scan's name).  A row without a vignette is a warning naming the .pid and row.
    """
    offset = len(rows)
    rows = pd.concat([rows, prow], ignore_index=True, sort=False) if not rows.empty else prow
    by_stem = {
        posixpath.splitext(e.basename)[0].lower(): e
        for e in vignettes
        if e.suffix in IMAGE_SUFFIXES
    }
    for j in range(len(prow)):
        item = str(prow.at[j, "Item"]).strip() if "Item" in prow.columns else ""
        if prefix is None:
            label = str(prow.at[j, "Label"]).strip() if "Label" in prow.columns else ""
        else:
            label = prefix
        e = by_stem.get(f"{label}_{item}".lower())
        if e is None:
            problems.append(
                Problem(
                    "row_without_image",
                    f"no vignette {label}_{item}.jpg for this object",
                    file=pid.display,
                    row=int(prow.at[j, ROW_COL]),
                    severity="warning",
                )
            )
            continue
        images.append(e.ref(row=offset + j))
        used.add(e.name)
    return rows


# Fields a .pid's sample header gives for every row; when the rows come from a .pid, what the
# EcoTaxa-table suggester guessed for them from per-object columns is dropped (UVP5, ZooScan).
PID_HEADER_FIELDS = (
    "latitude",
    "longitude",
    "date",
    "time",
    "depth_min",
    "depth_max",
    "pixel_size",
    "sample_id",
)


def suggest_pid_header(
    rows: pd.DataFrame,
    f: dict[str, Any],
    *,
    latitude: str,
    longitude: str,
    confidence: float,
    lon_confidence: float | None = None,
    negate_longitude: bool = False,
) -> None:
    """What ZooProcess-style projects (ZooScan, UVP5) share: the position from the sample header
    in DD.MM where the table left it open, and no taxon label from a ``.pid``'s ``Label`` (which
    names a scan or a raw image).  ``latitude``/``longitude`` say, in words, what the header holds.
    """
    if "label" not in f and col(rows, "Label"):
        f["label"] = None  # the reader's "not in these files": the matcher offers no column either
    for name, column, reason, conf, negate in (
        ("latitude", "hdr:latitude", latitude, confidence, None),
        (
            "longitude",
            "hdr:longitude",
            longitude,
            lon_confidence or confidence,
            negate_longitude or None,
        ),
    ):
        c = col(rows, column)
        if c and name not in f:
            values = ", ".join(samples(rows, c))
            f[name] = spec(c, f"{reason}: {values}", format="ddmm", negate=negate, confidence=conf)


def no_depth_from_grey_levels(rows: pd.DataFrame, f: dict[str, Any]) -> None:
    """A ``.pid`` ``[Data]`` table's ``Min``/``Max``/``Mean`` are the object's grey levels (0-255),
    never depths: say so, so that the matcher does not offer them for a depth field."""
    if all(col(rows, c) for c in ("Min", "Max", "Mean")):
        for field in ("depth", "depth_min", "depth_max"):
            f.setdefault(field, None)
