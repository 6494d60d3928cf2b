"""Per-field counts of ready, missing and invalid images, read off a ``Mapped``.

The Map page shows them live as the user edits; the Preview page shows them as the gap report.
Kept here (no Qt) so it is plain to test and cheap to recompute.
"""

from __future__ import annotations

import re
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


TIMEZONE_HINT = (
    "Your instrument wrote local times without a time zone. Choose “Value” in the Time zone row "
    "below and type it (UTC, +02:00 or Europe/Paris); until then the times are taken as UTC and "
    "may be hours off."
)


def needs_timezone(mapped: Mapped | None) -> bool:
    """True while a reader asked for the time zone of local times and nobody answered (the
    times are then read as UTC, which may be hours off)."""
    return mapped is not None and any(p.kind == "needs_timezone" for p in mapped.problems)


def to_confirm(mapped: Mapped | None) -> bool:
    """True when some images are held back by unusual (suspicious) values that a person may
    confirm on the Preview page: the Map page must then let the user go on to it."""
    from ..workflow import SUSPICIOUS_KINDS

    return mapped is not None and any(
        p.kind in SUSPICIOUS_KINDS and p.severity == "error" for p in mapped.problems
    )


# The core's messages speak to the command line too; in the window the same advice in its words.
_WINDOW_WORDS = (
    (
        re.compile(r"\(run `aqqua-packer check` to see every gap\)"),
        "(the Preview page lists every gap)",
    ),
    (
        re.compile(r"pack the ready images with --skip-incomplete"),
        "choose to pack only the ready images on the Preview page",
    ),
    (
        re.compile(r"or pack without it with --skip-incomplete, then run the same command again"),
        "or choose to pack only the ready images on the Preview page, then press “Resume packing”",
    ),
    (
        re.compile(r"[Rr]un the same command again( to continue)?"),
        lambda m: ("P" if m.group(0)[0] == "R" else "p") + "ress “Resume” to continue",
    ),
    (re.compile(r"\s*\(or use --workers 1\)"), ""),
    (re.compile(r"\s*Try --workers 1\."), ""),
    (re.compile(r"choose a new --out folder"), "choose a new package folder"),
    (
        re.compile(r"Run the command that started it to finish it"),
        "Resume the packing that started it",
    ),
)


def for_the_window(message: str) -> str:
    """A core message with its command-line advice (flags, "run the same command") in the
    wizard's words."""
    for pattern, words in _WINDOW_WORDS:
        message = pattern.sub(words, message)
    return message


LOW_CONFIDENCE = 0.6  # below this a suggestion is shown as doubtful


def suggestion_doubt(scans, name: str, spec) -> str:
    """Why a suggestion for ``name`` deserves a second look, or "" when it does not: the doubt a
    reader or the matcher gave (a ``doubt`` or ``why`` next to the suggestion), else a low
    confidence."""
    doubt = str(getattr(spec, "doubt", "") or "")
    if not doubt:
        for s in scans or ():
            d = ((getattr(s, "suggested", None) or {}).get("fields") or {}).get(name)
            if isinstance(d, dict) and (d.get("doubt") or d.get("why")):
                doubt = str(d.get("doubt") or d.get("why"))
                break
    c = getattr(spec, "confidence", None)
    if not doubt and c is not None and c < LOW_CONFIDENCE:
        doubt = f"only {c:.0%} sure"
    return doubt


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
