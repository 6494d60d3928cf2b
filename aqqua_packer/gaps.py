"""Why images are not ready to pack, in words: the text ``pack`` stops with, and the reason each
left-out image gets in skipped.csv."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .fields import BY_NAME
from .mapping import Mapped
from .mapping.apply import REQUIRED_FIELDS
from .problems import Problem
from .report import build_report


def gap_summary(mapped: Mapped, limit: int = 5) -> str:
    """Which required fields are missing for how many images, with a few examples."""
    not_ready = np.flatnonzero(~np.asarray(mapped.ready, dtype=bool))
    lines = [
        f"{len(not_ready)} of {len(mapped.items)} images lack required metadata, so nothing was packed."
    ]
    try:  # the gap report's one-paragraph view, when it is there
        lines.append(build_report(mapped).summary_text())
    except Exception:  # the summary below says enough on its own
        pass
    conv = mapped.converted
    for name in REQUIRED_FIELDS:
        col = BY_NAME[name].column
        if col not in conv.columns:
            continue
        missing = [int(i) for i in not_ready if pd.isna(conv[col].iat[int(i)])]
        if missing:
            ex = ", ".join(mapped.items.name(i) for i in missing[:limit])
            more = f" and {len(missing) - limit} more" if len(missing) > limit else ""
            lines.append(f"  {name}: missing or unreadable for {len(missing)} images ({ex}{more})")
    no_row = [int(i) for i in not_ready if mapped.items.row[i] < 0]
    if no_row:
        ex = ", ".join(mapped.items.name(i) for i in no_row[:limit])
        lines.append(
            f"  no table row names {len(no_row)} images ({ex}{'…' if len(no_row) > limit else ''})"
        )
    errors = [p for p in mapped.problems if p.severity == "error"]
    if errors:
        lines.append("First problems:")
        lines.extend(f"  {p}" for p in errors[:limit])
    suspicious = _suspicious_kinds(errors)
    if suspicious:
        lines.append(
            "Suspicious values that are right as written can be confirmed: "
            + " ".join(f"--accept {k}" for k in suspicious)
        )
    lines.append(
        "Fix the table or the mapping (run `aqqua-packer check` to see every gap), or pack the ready images with --skip-incomplete."
    )
    return "\n".join(lines)


def _suspicious_kinds(errors: list[Problem]) -> list[str]:
    from .mapping.plausibility import LEVEL, SUSPICIOUS

    return list(dict.fromkeys(p.kind for p in errors if LEVEL.get(p.kind) == SUSPICIOUS))


def not_ready_reason(mapped: Mapped, i: int) -> str:
    if mapped.items.row[i] < 0 and any(not s.rows.empty for s in mapped.scans):
        return "no table row names this image"
    conv = mapped.converted
    missing = [
        n
        for n in REQUIRED_FIELDS
        if BY_NAME[n].column in conv.columns and pd.isna(conv[BY_NAME[n].column].iat[i])
    ]
    return "missing or unreadable: " + ", ".join(missing) if missing else "not ready"
