"""What a reader is, and the pieces every reader shares at the start and at the end of its work.

A reader is a module in ``aqqua_packer/sources/`` with the two functions of ``Reader`` and one line
in ``registry.READERS`` (or, for a reader that lives elsewhere, one ``registry.register`` call).
``tests/sources/test_reader_contract.py`` checks every registered reader against ``Reader``.

A reader ends its ``scan`` with ``finish_scan``: the one place that makes sure its rows hold text
("" for a value a table did not have) and says what was found.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..progress import Task
from .base import ROW_COL, TABLE_COL, Detection, Scan

if TYPE_CHECKING:
    import pandas as pd

    from .listing import Entry


@runtime_checkable
class Reader(Protocol):
    """One instrument's reader: a module with these two functions (a module satisfies a Protocol).

    ``detect`` is cheap: the registry calls it on every folder and sub-folder it is shown (see the
    rules in ``registry``'s docstring); it never opens images.  ``scan`` lists the images (as
    ``ImageRef``s, never decoding them) and reads the metadata rows as text; it returns several
    ``Scan``s when one folder holds several parts.  Neither raises for bad input: a problem with a
    file is a ``Problem`` in the Scan; ``UserError`` only when nothing at all can be read.
    """

    def detect(self, path: Path) -> Detection:
        """How sure this reader is that ``path`` (a folder, zip or file) is its instrument's."""
        ...

    def scan(self, path: Path, task: Task) -> list[Scan]:
        """The images and rows at ``path``, as one Scan per part, each ended by ``finish_scan``."""
        ...


# --- detect -----------------------------------------------------------------------------------
# A reader that finds its files only below the top of a folder answers with this confidence: below
# the registry's "take the whole folder" level, so a folder holding other things too is split into
# parts and each sub-folder is read by the reader that knows it.
DEEP = 0.45


def depth_of(root: Path, entry: Entry) -> int:
    """How many folders down from ``root`` the file (or the zip holding the member) lies."""
    root = Path(root)
    if root.is_file():
        return 0
    return os.path.relpath(entry.path, root).count(os.sep)


def deep_detection(name: str, what: str) -> Detection:
    return Detection(
        DEEP, f"found {what} {name} below the top of the folder; each sub-folder is read as a part"
    )


# --- rows -------------------------------------------------------------------------------------
def tidy_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows as ``Scan.rows`` promises them: "" for a value a table did not have (after joining
    tables with different columns), and the provenance columns ``__table__``, ``__row__`` last.
    Rows already in that form are returned as they are."""
    if TABLE_COL not in rows.columns or ROW_COL not in rows.columns:
        return rows
    rows = fill_missing(rows)
    if list(rows.columns[-2:]) != [TABLE_COL, ROW_COL]:
        rows = rows[
            [*(c for c in rows.columns if c not in (TABLE_COL, ROW_COL)), TABLE_COL, ROW_COL]
        ]
    return rows


def fill_missing(rows: pd.DataFrame) -> pd.DataFrame:
    """Empty text for every value a table did not have (``Scan.rows`` holds text, never NaN)."""
    data = [c for c in rows.columns if c not in (TABLE_COL, ROW_COL)]
    # Looked at column by column: rows[data] would copy the whole table to find out.
    provenance = (TABLE_COL, ROW_COL)
    if any(rows.iloc[:, i].isna().any() for i, c in enumerate(rows.columns) if c not in provenance):
        rows[data] = rows[data].fillna("")
    return rows


def concat_rows(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """The rows of several tables one after the other (row positions follow the order given),
    tidied; an empty frame for none."""
    import pandas as pd

    frames = list(frames)
    if not frames:
        return pd.DataFrame()
    if len(frames) == 1:
        return frames[0]
    return tidy_rows(pd.concat(frames, ignore_index=True, sort=False))


def add_header_columns(
    rows: pd.DataFrame, values: dict[str, str], *, prefix: str = "hdr:", table: str | None = None
) -> pd.DataFrame:
    """Add header/settings values that apply to every row (of ``table``, or all) as columns.

    The raw metadata then keeps them, and the mapping can take fields from them.
    """
    import pandas as pd

    if rows.empty or not values:
        return rows
    mask = rows[TABLE_COL] == table if table is not None else pd.Series(True, index=rows.index)
    new = {}
    for k, v in values.items():
        c = f"{prefix}{k}"
        if c in rows.columns:
            rows.loc[mask, c] = v
        else:
            new[c] = pd.Series("", index=rows.index, dtype=object)
            new[c][mask] = v
    if new:
        data = [c for c in rows.columns if c not in (TABLE_COL, ROW_COL)]
        rows = pd.concat([rows[data], pd.DataFrame(new), rows[[TABLE_COL, ROW_COL]]], axis=1)
    return rows


# --- the end of a scan ------------------------------------------------------------------------
def finish_scan(task: Task, scans: Scan | list[Scan], done: str = "") -> list[Scan]:
    """The end of every reader's ``scan``: "" for any value missing from each Scan's rows
    (``fill_missing``), and one line on the task saying what was found (``done``, or "N images,
    M rows").  Returns the Scans as a list, what ``scan`` returns."""
    scans = [scans] if isinstance(scans, Scan) else list(scans)
    for s in scans:
        s.rows = fill_missing(s.rows)
    if not done:
        n_images = sum(len(s.images) for s in scans)
        done = f"{n_images} images, {sum(len(s.rows) for s in scans)} rows"
    task.finish(done)
    return scans
