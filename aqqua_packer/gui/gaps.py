"""Per-field counts of ready, missing and invalid images, read off a ``Mapped``.

The Map page shows them live as the user edits; the Preview page shows them as the gap report.
Kept here (no Qt) so it is plain to test and cheap to recompute.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..fields import BY_NAME, REQUIRED_FIELDS, sources_of
from ..workflow import Mapped

MISSING_KINDS = {"missing", "sentinel"}


@dataclass(frozen=True)
class FieldCounts:
    ready: int
    missing: int
    invalid: int

    @property
    def total(self) -> int:
        return self.ready + self.missing + self.invalid


def field_counts(mapped: Mapped) -> dict[str, FieldCounts]:
    """For every field that is required or mapped: how many images have a good value."""
    n = len(mapped.items)
    invalid: Counter[str] = Counter()
    missing_probs: Counter[str] = Counter()
    for p in mapped.problems:
        if not p.field or p.severity != "error":
            continue
        if p.kind in MISSING_KINDS:
            missing_probs[p.field] += 1
        elif p.kind not in ("missing_column",):
            invalid[p.field] += 1
    out: dict[str, FieldCounts] = {}
    names = [*REQUIRED_FIELDS, *mapped.mapping.fields]
    for name in dict.fromkeys(names):
        f = BY_NAME.get(name)
        if f is None or f.kind == "setting":
            continue
        if name == "image":
            ready = int((mapped.items.row >= 0).sum())
            out[name] = FieldCounts(ready, n - ready, 0)
            continue
        bad = min(n, invalid[name])
        if (
            f.column
            and f.column in mapped.converted.columns
            and (name in mapped.mapping.fields or f.required)
        ):
            ready = int(mapped.converted[f.column].notna().sum())
        elif name in mapped.mapping.fields:
            ready = max(0, n - bad - missing_probs[name])
        else:
            ready = 0
        if name == "altitude" and "altitude" not in mapped.mapping.fields:
            bad = min(n, sum(invalid[d] for d in sources_of("altitude")[1:]))
        bad = min(bad, n - ready)
        out[name] = FieldCounts(ready, max(0, n - ready - bad), bad)
    return out
