"""The gap report, built from mapped records: counts per field and every problem, as JSON or text.

``build_report(mapped) -> Report``.  The CLI prints ``to_text()`` or ``to_json()``; the GUI shows
``fields`` as live counts and ``problem_rows()`` as a filterable table; ``pack`` stops with
``summary_text()``.  The text view groups identical problems (a thousand rows with 0,0 are one line
with examples); the JSON and CSV views keep every row.
"""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .fields import BY_NAME, REQUIRED_FIELDS
from .mapping.apply import OK, Mapped
from .mapping.model import FieldSpec, Mapping
from .mapping.plausibility import LEVEL as PLAUSIBILITY_LEVEL
from .mapping.plausibility import RULES as PLAUSIBILITY_RULES
from .problems import Problem

_ROW_REF = re.compile(r"\brow \d+\b")
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
PROBLEM_COLUMNS = ("severity", "kind", "field", "file", "row", "value", "message")

# What a problem kind means, in the words the text view uses.
KIND_WORDS = {
    "missing": "empty",
    "sentinel": "placeholder for 'no value' (NA, nan, 99999, -999)",
    "not_mapped": "nothing mapped",
    "missing_column": "column not in the table",
    "image_without_row": "image has no table row",
    "row_without_image": "row names no image found",
    "unparseable": "cannot be read",
    "out_of_range": "out of range",
    "ambiguous": "ambiguous (which format?)",
    "default_position": "0,0 default position",
    "negative_depth": "negative depth at sea",
    "implausible": "implausible for the instrument",
    "duplicate_id": "duplicate id",
    "unreadable_image": "image cannot be read",
    "set_aside": "set aside (a copy or not an image)",
    "bad_setting": "dataset setting not usable",
    "needs_timezone": "local times without a time zone (taken as UTC until you give it)",
    **{r.kind: f"{r.level}: {r.words}" for r in PLAUSIBILITY_RULES},
}


@dataclass
class FieldReport:
    """One field's line in the report: where it comes from and how many images have it right."""

    name: str
    label: str
    required: bool
    source: str  # "column 'Lat' (suggested)", "nothing mapped", ...
    origin: str | None  # "given", "suggested" or None when nothing is mapped
    confidence: float | None
    ready: int
    missing: int
    invalid: int
    reasons: dict[str, int] = field(default_factory=dict)  # problem kind -> images

    def to_dict(self) -> dict[str, Any]:
        d = {"field": self.name, **asdict(self)}  # every attribute, in order, "name" as "field"
        del d["name"]
        return d


@dataclass
class ProblemGroup:
    """Identical problems (same kind, field, severity and message) with a few examples."""

    kind: str
    field: str | None
    severity: str
    message: str
    count: int
    examples: list[Problem]


@dataclass
class Report:
    images: int
    ready: int
    fields: list[FieldReport]
    problems: list[Problem]
    mapping: dict[str, dict[str, Any] | None]
    sources: list[dict[str, Any]] = field(default_factory=list)
    # columns whose name fits a field but whose values contradict it: not used, said why
    doubted: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Suspicious kinds confirmed (--accept), each {"kind", "field", "images", "why"}.
    accepted: list[dict[str, Any]] = field(default_factory=list)

    # --- numbers ----------------------------------------------------------------------------------
    @property
    def not_ready(self) -> int:
        return self.images - self.ready

    @property
    def all_ready(self) -> bool:
        return self.images > 0 and self.ready == self.images

    def field(self, name: str) -> FieldReport:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def counts_by_kind(self) -> dict[str, int]:
        return dict(Counter(p.kind for p in self.problems))

    # --- problems, grouped and filtered ------------------------------------------------------------
    def groups(self, max_examples: int = 3) -> list[ProblemGroup]:
        by: dict[tuple, ProblemGroup] = {}
        for p in self.problems:
            # "same image as row 6" and "same image as row 9" are one kind of problem
            msg = _ROW_REF.sub("row …", p.message)
            key = (p.kind, p.field, p.severity, msg)
            g = by.get(key)
            if g is None:
                by[key] = g = ProblemGroup(p.kind, p.field, p.severity, msg, 0, [])
            g.count += 1
            if len(g.examples) < max_examples:
                g.examples.append(p)
        return sorted(
            by.values(),
            key=lambda g: (SEVERITY_ORDER.get(g.severity, 3), -g.count, g.field or "", g.kind),
        )

    def problem_rows(
        self,
        *,
        kind: str | None = None,
        field: str | None = None,
        severity: str | None = None,
        text: str | None = None,
    ) -> list[dict[str, Any]]:
        """Problems as plain dicts (the GUI's table, the JSON), filtered by any of the arguments."""
        needle = text.lower() if text else None
        out = []
        for p in self.problems:
            if (kind and p.kind != kind) or (field and p.field != field):
                continue
            if severity and p.severity != severity:
                continue
            d = _problem_dict(p)
            if needle and not any(needle in str(v).lower() for v in d.values() if v is not None):
                continue
            out.append(d)
        return out

    # --- views -------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "ready": self.ready,
            "not_ready": self.not_ready,
            "sources": self.sources,
            "mapping": self.mapping,
            "fields": [f.to_dict() for f in self.fields],
            "counts": self.counts_by_kind(),
            "accepted": list(self.accepted),
            "problems": [_problem_dict(p) for p in self.problems],
            "doubted": self.doubted,
        }

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, default=str)

    def to_csv(self, path: Path) -> Path:
        """Every problem, one per line, for a spreadsheet; written atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".csv", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(PROBLEM_COLUMNS)
            for p in self.problems:
                d = _problem_dict(p)
                w.writerow(["" if d[c] is None else d[c] for c in PROBLEM_COLUMNS])
        os.replace(tmp, path)
        return path

    def summary_text(self, max_reasons: int = 6) -> str:
        """One paragraph: how many images are ready and the main reasons the others are not."""
        if self.images == 0:
            return "No images were found."
        if self.all_ready:
            return (
                "The image is ready."
                if self.images == 1
                else f"All {self.images:,} images are ready."
            )
        by_reason: dict[tuple[str, int], list[str]] = {}
        for f in self.fields:
            if not f.required:
                continue
            for k, n in f.reasons.items():
                by_reason.setdefault((k, n), []).append(f.name)
        # "latitude, longitude: 0,0 default position (3)", not the same images twice
        reasons = [
            (n, f"{', '.join(names)}: {KIND_WORDS.get(k, k)} ({n:,})")
            for (k, n), names in by_reason.items()
        ]
        unreadable = sum(1 for p in self.problems if p.kind == "unreadable_image")
        if unreadable:
            reasons.append((unreadable, f"image cannot be read ({unreadable:,})"))
        required = {f.name for f in self.fields if f.required}
        flagged = Counter(
            (p.field, p.kind)
            for p in self.problems
            if p.kind in PLAUSIBILITY_LEVEL
            and p.severity == "error"
            and (p.field not in required or PLAUSIBILITY_LEVEL[p.kind] == "suspicious")
        )
        for (name, k), n in flagged.items():  # not in the field counts, yet holds images back
            reasons.append((n, f"{name}: {KIND_WORDS.get(k, k)} ({n:,})"))
        reasons.sort(key=lambda r: -r[0])
        shown = "; ".join(r for _, r in reasons[:max_reasons])
        more = (
            f"; and {len(reasons) - max_reasons} more reasons" if len(reasons) > max_reasons else ""
        )
        return f"{self.not_ready:,} of {self.images:,} images are not ready — {shown}{more}."

    def to_text(self, max_examples: int = 3, max_groups: int = 40) -> str:
        lines = []
        state = (
            "every one is ready"
            if self.all_ready
            else f"{self.ready:,} ready, {self.not_ready:,} not ready"
        )
        lines.append(f"{self.images:,} images: {state}.")
        for s in self.sources:
            lines.append(
                f"  source: {s['kind']} {s['root']} ({s['images']:,} images, {s['rows']:,} rows)"
            )
        lines.append("")
        w = max([len(f.name) for f in self.fields] + [5]) + 1
        lines.append(f"{'field':<{w}}  {'ready':>8} {'missing':>8} {'invalid':>8}  from")
        for f in self.fields:
            star = "*" if f.required else " "
            lines.append(
                f"{f.name:<{w}}{star} {f.ready:>8,} {f.missing:>8,} {f.invalid:>8,}  {f.source}"
            )
        lines.append(f"{'':<{w}}  (* required)")
        if self.doubted:
            lines.append("")
            lines.append("Not suggested, although the name fits (map it yourself if it is right):")
            for name, d in self.doubted.items():
                lines.append(f"  {name}: column {d['column']!r}: {d['doubt']}")
        groups = self.groups(max_examples)
        if groups:
            lines.append("")
            lines.append(
                f"Problems ({len(self.problems):,} in {len(groups)} group{'s' if len(groups) != 1 else ''}; --json lists every row):"
            )
            for g in groups[:max_groups]:
                what = f"{g.field}: " if g.field else ""
                noun = "row" if any(e.row is not None for e in g.examples) else "item"
                count = (
                    f"{g.count:,} {noun}{'s' if g.count != 1 else ''}"
                    if g.count > 1 or g.examples[0].row is not None
                    else ""
                )
                head = f"  {g.severity.upper():<7} {what}{KIND_WORDS.get(g.kind, g.kind)}" + (
                    f" [{count}]" if count else ""
                )
                lines.append(head)
                lines.append(f"          {g.message}")
                ex = [_where(e) for e in g.examples if _where(e)]
                if ex:
                    rest = g.count - len(g.examples)
                    lines.append(
                        "          " + "; ".join(ex) + (f"; … {rest:,} more" if rest > 0 else "")
                    )
            if len(groups) > max_groups:
                lines.append(f"  … {len(groups) - max_groups} more groups (see --json)")
        lines.extend(self._plausibility_lines())
        lines.append("")
        lines.append(self.summary_text())
        return "\n".join(lines)

    def _plausibility_lines(self) -> list[str]:
        """How to get past the plausibility problems: which can be confirmed, which must be fixed."""
        held = Counter(
            p.kind for p in self.problems if p.kind in PLAUSIBILITY_LEVEL and p.severity == "error"
        )
        out = []
        suspicious = [k for k in held if PLAUSIBILITY_LEVEL[k] == "suspicious"]
        if suspicious:
            out.append("")
            out.append(
                "Suspicious values hold images back until you fix them or confirm they are right: "
                + " ".join(f"--accept {k}" for k in suspicious)
            )
        if any(PLAUSIBILITY_LEVEL[k] == "impossible" for k in held):
            out.append("Impossible values cannot be accepted: map or --set the right value.")
        for a in self.accepted:
            n = a["images"]
            out.append(
                f"Accepted: {a['kind']} on {a['field']} ({n:,} image{'s' if n != 1 else ''})"
            )
        return out


def _problem_dict(p: Problem) -> dict[str, Any]:
    return {
        "kind": p.kind,
        "field": p.field,
        "file": p.file,
        "row": None if p.row is None else int(p.row),
        "value": p.value,
        "message": p.message,
        "severity": p.severity,
        # "impossible" (fix the value) or "suspicious" (fix it, or confirm with --accept KIND)
        "plausibility": PLAUSIBILITY_LEVEL.get(p.kind),
    }


def _where(p: Problem) -> str:
    parts = []
    if p.file:
        parts.append(os.path.basename(str(p.file)) if p.row is not None else str(p.file))
    if p.row is not None:
        parts.append(f"row {p.row}")
    s = " ".join(parts)
    if p.value is not None:
        s += f" {p.value!r}" if s else repr(p.value)
    return s


# --- building -----------------------------------------------------------------------------------------
def describe_spec(spec: FieldSpec | None) -> str:
    if spec is None or not spec.has_source:
        return "nothing mapped"
    return f"{spec.describe()} ({spec.origin})"


def _source_of(name: str, mapping: Mapping) -> tuple[str, str | None, float | None]:
    """How an output field is made: its own spec, or date + time, or depth (+ surface altitude)."""
    spec = mapping.get(name)
    if spec is not None and spec.has_source:
        return describe_spec(spec), spec.origin, spec.confidence
    parts: list[tuple[str, FieldSpec]] = []
    if name == "datetime":
        parts = [
            (k, mapping.fields[k])
            for k in ("date", "time")
            if mapping.get(k) and mapping.fields[k].has_source
        ]
        tz = mapping.get("timezone")
        if parts and tz is not None and tz.constant:
            parts.append(("timezone", tz))
    elif name == "depth":
        parts = [
            (k, mapping.fields[k])
            for k in ("depth_min", "depth_max")
            if mapping.get(k) and mapping.fields[k].has_source
        ]
    elif name == "altitude":
        parts = [
            (k, mapping.fields[k])
            for k in ("depth", "depth_min", "depth_max")
            if mapping.get(k) and mapping.fields[k].has_source
        ]
        if parts and "depth" in dict(parts):
            parts = [(k, s) for k, s in parts if k == "depth"]
        surf = mapping.get("surface_altitude")
        if parts and surf is not None and surf.constant:
            parts.append(("surface_altitude", surf))
    if not parts:
        return "nothing mapped", None, None
    origin = "given" if any(s.origin == "given" for _, s in parts) else "suggested"
    conf = min((s.confidence for _, s in parts if s.confidence is not None), default=None)
    return "; ".join(f"{k}: {describe_spec(s)}" for k, s in parts), origin, conf


def mapping_dict(mapping: Mapping) -> dict[str, dict[str, Any] | None]:
    """Field → what it is mapped to and whether suggested or given; required fields always listed."""
    out: dict[str, dict[str, Any] | None] = {}
    for name in (*REQUIRED_FIELDS, *mapping.fields):
        if name in out:
            continue
        spec = mapping.get(name)
        if spec is None or not spec.has_source:
            derived, origin, conf = _source_of(name, mapping)
            out[name] = (
                None
                if origin is None
                else {"derived": derived, "origin": origin, "confidence": conf}
            )
            continue
        d: dict[str, Any] = spec.to_dict()
        d["source"] = (
            "pattern" if spec.pattern else ("column" if spec.column is not None else "constant")
        )
        d["origin"] = spec.origin
        d["confidence"] = spec.confidence
        if spec.reason:
            d["reason"] = spec.reason
        if spec.samples:
            d["samples"] = list(spec.samples)
        out[name] = d
    return out


def build_report(mapped: Mapped) -> Report:
    """Count, per field, the images that are ready, missing or invalid, and why."""
    n = len(mapped.items)
    fields: list[FieldReport] = []
    names = list(REQUIRED_FIELDS) + [k for k in mapped.fields if k not in REQUIRED_FIELDS]
    for name in names:
        st = mapped.fields.get(name)
        f = BY_NAME[name]
        source, origin, conf = _source_of(name, mapped.mapping)
        if st is None:  # nothing mapped to it: every image misses it
            ready, missing, invalid = 0, n, 0
            reasons: dict[str, int] = {"not_mapped": n} if n else {}
        else:
            ready, missing, invalid = st.counts()
            bad = st.status != OK
            reasons = {}
            if bad.any():
                ks, cs = np.unique(st.kind[bad].astype(str), return_counts=True)
                reasons = {str(k): int(c) for k, c in zip(ks, cs, strict=True)}
        fields.append(
            FieldReport(
                name,
                f.label,
                name in REQUIRED_FIELDS,
                source,
                origin,
                conf,
                ready,
                missing,
                invalid,
                reasons,
            )
        )
    image_spec = mapped.mapping.get("image")
    if image_spec is not None and image_spec.column is not None and n:
        with_row = int((mapped.items.row >= 0).sum())
        fields.insert(
            0,
            FieldReport(
                "image",
                BY_NAME["image"].label,
                False,
                describe_spec(image_spec),
                image_spec.origin,
                image_spec.confidence,
                with_row,
                n - with_row,
                0,
                {"image_without_row": n - with_row} if n - with_row else {},
            ),
        )
    sources = []
    for s in mapped.scans:
        sources.append(
            {
                "kind": s.kind,
                "root": str(s.root),
                "label": s.label,
                "images": len(s.images),
                "rows": len(s.rows),
                "set_aside": len(s.set_aside),
            }
        )
    return Report(
        n,
        int(np.asarray(mapped.ready).sum()),
        fields,
        list(mapped.problems),
        mapping_dict(mapped.mapping),
        sources,
        {
            name: {"column": spec.column, "doubt": spec.doubt, "samples": list(spec.samples)}
            for name, spec in mapped.mapping.doubted.items()
        },
        [vars(a).copy() for a in getattr(mapped, "accepted", [])],
    )
