"""What a mapping gives: the items, their converted metadata, which are ready, and why not."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..problems import Problem
from ..sources.base import Scan
from ..sources.tables import is_missing
from . import plausibility
from .items import Items
from .model import Mapping

# Per-field status of one image.
OK, MISSING, INVALID = 0, 1, 2
# Problem kinds that mean "there is no value" (the rest mean "there is a value, and it is wrong").
MISSING_KINDS = frozenset(
    {"missing", "sentinel", "not_mapped", "missing_column", "image_without_row"}
)


class FieldState:
    """How each image fares on one field: ``status`` (OK, MISSING, INVALID) and the problem kind.

    ``kind`` (object per item: the problem kind, or None when OK) is kept as one-byte codes: the
    mapping is held for the whole pack, and seven fields of object pointers were 5.6 MB per
    100,000 images."""

    __slots__ = ("_status", "_codes", "_kinds", "_status_of")

    def __init__(self, status: np.ndarray, kind: np.ndarray):
        codes, uniq = pd.factorize(np.asarray(kind, dtype=object))  # None is -1
        self._codes = codes.astype(np.int8 if len(uniq) < 127 else np.int32)
        self._kinds = np.array([*uniq.tolist(), None], dtype=object)  # code -1: the last, None
        # The status follows from the kind (none: OK; a kind of absence: MISSING; else INVALID);
        # kept only where it does not (it always does, as the mapping builds them).
        self._status_of = np.array(
            [MISSING if k in MISSING_KINDS else INVALID for k in uniq.tolist()] + [OK], np.int8
        )
        derived = self._status_of[self._codes]
        self._status = None if np.array_equal(derived, status) else np.asarray(status, np.int8)

    @property
    def status(self) -> np.ndarray:
        """OK, MISSING or INVALID per item (int8)."""
        return self._status_of[self._codes] if self._status is None else self._status

    @property
    def kind(self) -> np.ndarray:
        return self._kinds[self._codes]

    def counts(self) -> tuple[int, int, int]:
        s = self.status
        return int((s == OK).sum()), int((s == MISSING).sum()), int((s == INVALID).sum())


@dataclass
class Mapped:
    scans: list[Scan]
    mapping: Mapping  # the effective mapping (suggested merged with given)
    items: Items
    converted: pd.DataFrame  # one row per item, iFDO columns (fields.Field.column) + image-filename
    ready: np.ndarray  # bool per item: every required field present and valid
    problems: list[Problem] = field(default_factory=list)
    # Per output field (the required ones, and the optional ones that are mapped): per-image state.
    fields: dict[str, FieldState] = field(default_factory=dict)
    # The effective mapping of each scan (readers of different instruments suggest differently).
    mappings: list[Mapping] = field(default_factory=list)
    # Suspicious kinds a person confirmed and how many images each made ready (plausibility.py).
    accepted: list[plausibility.Accepted] = field(default_factory=list)

    def raw_row(self, i: int) -> dict[str, str]:
        """Every original value of item ``i``'s row as text, with its table and row number."""
        it = self.items[i]
        if it.row is None:
            return {}
        rec = self.scans[it.scan].rows.iloc[it.row]
        return {str(k): ("" if is_missing(v) else str(v)) for k, v in rec.items()}

    def add_unreadable(self, i: int, message: str) -> Problem:
        """The pack step found that item ``i``'s pixels do not decode: record it, mark it not ready."""
        it = self.items[i]
        p = Problem(
            "unreadable_image", message, file=it.image.name, field="image", value=it.image.path
        )
        self.ready[i] = False
        self.problems.append(p)
        return p

    @property
    def n_ready(self) -> int:
        return int(self.ready.sum())
