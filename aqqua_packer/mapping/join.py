"""Joining images to table rows, and what the join leaves over (images without a row, rows
without an image)."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..problems import Problem
from ..sources.base import Scan
from ..sources.tables import name_keys
from .items import Items
from .model import FieldSpec, Mapping
from .values import first_table, provenance


def join_scan(
    scans: list[Scan],
    scan_i: int,
    spec: FieldSpec | None,
    problems: list[Problem],
    used: np.ndarray,
) -> Items:
    """Items of one scan; ``used`` (bool per row) marks the rows that describe an image."""
    scan = scans[scan_i]
    rows = scan.rows
    images = scan.images
    linked_rows = images.rows()
    linked = linked_rows >= 0
    # The reader's own links win, unless the user chose the image column themselves.
    by_reader = bool(linked.all()) and len(images) > 0 and (spec is None or spec.origin != "given")
    if spec is None or spec.column is None or rows.empty or by_reader:
        used[linked_rows[linked]] = True
        return Items.of_scan(scans, scan_i, linked_rows)
    col = spec.column
    if col not in rows.columns:
        problems.append(
            Problem(
                "missing_column",
                f"the image column {col!r} is not in the table",
                file=first_table(scan),
                field="image",
                value=col,
            )
        )
        return Items.of_scan(scans, scan_i, linked_rows)
    # Exact names first, in Arrow (no Python string per row or image): the first row of a key wins.
    keys = name_keys(rows[col])
    positions = (
        pc.index_in(pc.utf8_lower(images.names_arrow()), value_set=keys)
        .fill_null(-1)
        .to_numpy(zero_copy_only=False)
        .astype(np.int64)
    )
    codes = pc.dictionary_encode(keys, null_encoding="encode").indices.to_numpy(
        zero_copy_only=False
    )
    named = pc.fill_null(pc.not_equal(keys, ""), False).to_numpy(zero_copy_only=False)
    first_of = np.full(int(codes.max()) + 1 if len(codes) else 0, -1, dtype=np.int64)
    order = np.arange(len(codes))[::-1]
    first_of[codes[order]] = order  # backwards: the first row of each key is written last
    dup_rows = [
        (pos, int(first_of[codes[pos]]))
        for pos in np.flatnonzero(named & (first_of[codes] != np.arange(len(codes)))).tolist()
    ]
    del codes, named, first_of, order
    missing = np.flatnonzero(positions < 0)
    if len(
        missing
    ):  # by file name or stem (rows that name "img_1" or "img_1.png" for "a/img_1.png")
        found = by_file_name_arrow(keys, images, missing)
        if found is None:  # names beyond printable ASCII: Python's own case folding and trimming
            found = by_file_name(rows[col].tolist(), images, missing)
        positions[missing] = found
    del keys
    used[positions[positions >= 0]] = True
    if dup_rows:
        tab, rn = provenance(scan)
        for pos, first in dup_rows:
            if used[first]:
                used[pos] = True
            problems.append(
                Problem(
                    "duplicate_id",
                    f"this row names the same image as row {rn[first]}; the first row is used",
                    file=tab[pos],
                    row=rn[pos],
                    field="image",
                    value=str(rows[col].iat[pos]),
                    severity="warning",
                )
            )
    return Items.of_scan(scans, scan_i, positions)


def row_problems(
    scans: list[Scan],
    per_scan: list[Items],
    mappings: list[Mapping],
    used_rows: dict[int, tuple[Scan, np.ndarray]],
    ready: np.ndarray,
) -> list[Problem]:
    """Images without a row (an error when it leaves the image unready, otherwise a note) and
    rows that name an image that was not found."""
    problems: list[Problem] = []
    k = 0
    for si, its in enumerate(per_scan):
        if _expects_rows(scans[si], mappings[si]):
            for j in np.flatnonzero(its.row < 0).tolist():
                problems.append(
                    Problem(
                        "image_without_row",
                        "no table row names this image",
                        file=its.name(j),
                        field="image",
                        severity="error" if not ready[k + j] else "warning",
                    )
                )
        k += len(its)
    for scan, used in used_rows.values():
        mapping = mappings[scans.index(scan)]
        if not _joined_by_column(scan, mapping):
            continue
        spec = mapping.get("image")
        col = spec.column if spec is not None and spec.column in scan.rows.columns else None
        unused = np.flatnonzero(~used).tolist()
        if not unused:
            continue
        tab, rn = provenance(scan)
        vals = scan.rows[col].tolist() if col else [None] * len(scan.rows)
        for pos in unused:
            problems.append(
                Problem(
                    "row_without_image",
                    "this row names an image that was not found",
                    file=tab[pos],
                    row=rn[pos],
                    field="image",
                    value=None if vals[pos] is None else str(vals[pos]),
                    severity="warning",
                )
            )
    return problems


def _expects_rows(scan: Scan, mapping: Mapping) -> bool:
    """Whether the scan's images are meant to be described by rows (a table was read or joined)."""
    if scan.rows.empty:
        return False
    spec = mapping.get("image")
    return (spec is not None and spec.column is not None) or bool((scan.images.rows() >= 0).any())


def _joined_by_column(scan: Scan, mapping: Mapping) -> bool:
    """Whether rows were matched to images through the image column (not by the reader)."""
    spec = mapping.get("image")
    if scan.rows.empty or spec is None or spec.column is None:
        return False
    linked = int((scan.images.rows() >= 0).sum())
    return not (linked and linked == len(scan.images) and spec.origin != "given")


def by_file_name(vals: list, images, missing: np.ndarray) -> np.ndarray:
    """For each image in ``missing`` (positions of images that no row names by their path), the
    first row whose value names it by its path (any case), its file name or its file name
    without the suffix (-1 when none)."""
    full: dict[str, int] = {}
    for pos in range(len(vals) - 1, -1, -1):  # backwards, so the first row of a key wins
        k = ("" if vals[pos] is None else str(vals[pos])).strip().replace("\\", "/").lower()
        if k:
            full[k] = pos
    short: dict[str, int] = {}
    for key, p in sorted(full.items(), key=lambda kv: kv[1]):
        base = key.rsplit("/", 1)[-1]
        short.setdefault(base, p)
        short.setdefault(os.path.splitext(base)[0], p)
    out = np.full(len(missing), -1, dtype=np.int64)
    for m, i in enumerate(missing.tolist()):
        n = images.name(i).lower()
        base = n.rsplit("/", 1)[-1]
        for k in (n, base, os.path.splitext(base)[0]):
            pos = full.get(k)
            if pos is None:
                pos = short.get(k)
            if pos is not None:
                out[m] = pos
                break
    return out


_PRINTABLE = r"^[ -~]*$"  # printable ASCII: Arrow trims and folds case as Python does
_BASE = r"^.*/"  # a path's folders, as str.rsplit("/", 1)[-1] drops them
_SUFFIX = r"^(.*[^.].*)\.[^.]*$"  # as os.path.splitext: the last dot, not one a name starts with
_SHORT = np.int64(1) << 40  # above any row number: a file name or stem loses to a full value
_NONE = np.iinfo(np.int64).max


def by_file_name_arrow(keys: pa.Array, images, missing: np.ndarray) -> np.ndarray | None:
    """``by_file_name`` in Arrow, without a Python string per row or image (~10 times faster on
    1,000,000 rows); None when a value or name is not printable ASCII (or a value is missing),
    where Arrow's text rules could differ from Python's."""
    names = pc.utf8_lower(images.names_arrow().take(pa.array(missing)))
    for text in (keys, names):
        if text.null_count or pc.all(pc.match_substring_regex(text, _PRINTABLE)).as_py() is False:
            return None
    # Every key a row gives, with its row: the row's full value first (it wins over any file
    # name or stem, whatever its row), then its file name and stem; the first row of each wins.
    # An image's path is not a row's full value (``missing``), and file names and stems hold no
    # "/": so an image in a folder is found by its file name or stem, and one without a folder
    # is its own file name.  Row keys and image keys are encoded together, once.
    k_base = pc.replace_substring_regex(keys, _BASE, "")
    k_stem = pc.replace_substring_regex(k_base, _SUFFIX, r"\1")
    in_folder = pc.match_substring(keys, "/").to_numpy(zero_copy_only=False)
    base = pc.replace_substring_regex(names, _BASE, "")
    text = pa.concat_arrays(
        [
            keys,
            k_base.filter(pa.array(in_folder)),  # the others' file name is their full value
            k_stem,
            base,
            pc.replace_substring_regex(base, _SUFFIX, r"\1"),
        ]
    )
    del k_base, k_stem, base
    rows = np.arange(len(keys), dtype=np.int64)
    given = np.concatenate([rows, rows[in_folder] | _SHORT, rows | _SHORT])
    empty = pc.equal(keys, "").to_numpy(zero_copy_only=False)
    given[np.concatenate([empty, empty[in_folder], empty])] = _NONE  # an empty value names nothing
    codes = pc.dictionary_encode(text).indices.to_numpy(zero_copy_only=False)
    n_given, n_dict = len(given), int(codes.max()) + 1 if len(codes) else 0
    best = np.full(n_dict, _NONE, dtype=np.int64)
    np.minimum.at(best, codes[:n_given], given)
    del text, given, rows
    found = best[codes[n_given:]]
    found = np.where(found == _NONE, -1, found & (_SHORT - 1))
    by_name, by_stem = found.reshape(2, len(missing))
    return np.where(by_name >= 0, by_name, by_stem)
