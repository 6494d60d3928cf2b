"""The small pieces every reader builds its suggested mapping (``Scan.suggested``) with: the column
that holds a field, a few of its values to show the user, and the field's spec."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd


def col(rows: pd.DataFrame, *names: str) -> str | None:
    """The first of ``names`` that is a column with at least one value (case-insensitive)."""
    lower = {c.lower(): c for c in rows.columns}
    for n in names:
        c = lower.get(n.lower())
        if c is not None and rows[c].astype(str).str.strip().ne("").any():
            return c
    return None


def samples(rows: pd.DataFrame, column: str, k: int = 3) -> list[str]:
    """Up to ``k`` distinct non-empty values of a column, in order of appearance."""
    vals = rows[column].astype(str).str.strip()
    return [str(v) for v in pd.unique(vals[vals != ""].to_numpy(dtype=object))[:k]]


def spec(column: str, reason: str, confidence: float = 0.9, **kw: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"column": column}
    d.update({k: v for k, v in kw.items() if v is not None})
    d["confidence"] = confidence
    d["reason"] = reason
    return d


def suggest_columns(
    rows: pd.DataFrame,
    f: dict[str, Any],
    entries: Iterable[tuple[str, str | tuple[str, ...], str, dict[str, Any]]],
) -> None:
    """For each ``(field, column or columns, why, spec keywords)``: where ``f`` has nothing for the
    field yet and the column has values, suggest it; the reason is ``why`` and a few values."""
    for field, names, why, kw in entries:
        c = col(rows, *((names,) if isinstance(names, str) else names))
        if c and field not in f:
            f[field] = spec(c, f"{why}: {', '.join(samples(rows, c))}", **kw)
