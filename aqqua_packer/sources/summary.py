"""What a scan recognised, as one plain dictionary: the ``scan --json`` object and its text view.

The CLI prints it; the GUI's first page can show the same.  The shape is documented in
``docs/instruments.md`` ("What `scan --json` prints").
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .base import ROW_COL, TABLE_COL, Scan

SCHEMA_VERSION = 1


def _samples(values, n: int) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for v in values:
        t = "" if v is None else str(v)
        if t.strip() and t not in seen:
            seen.add(t)
            out.append(t)
            if len(out) >= n:
                break
    return out


def summarise_scan(
    scan: Scan, *, samples: int = 3, examples: int = 5, max_problems: int = 50
) -> dict[str, Any]:
    """One recognised part: kind, why, images, tables, columns with sample values, the suggested
    mapping, set-aside copies and problems (the first ``max_problems``, with counts by kind)."""
    rows = scan.rows
    columns = []
    for c in scan.columns:
        col = rows[c]
        columns.append({"name": c, "samples": _samples(col.head(2000).tolist(), samples)})
    suggested, to_confirm = (
        {
            name: {
                k: spec[k]
                for k in ("column", "constant", "pattern", "format", "unit", "confidence", "reason")
                if k in spec and spec[k] not in (None, "")
            }
            for name, spec in ((scan.suggested or {}).get(part) or {}).items()
        }
        for part in ("fields", "to_confirm")
    )
    probs = scan.problems
    return {
        "kind": scan.kind,
        "label": scan.label,
        "sensor": scan.sensor,
        "root": str(scan.root),
        "confidence": round(float(scan.confidence or 0.0), 2),
        "reason": scan.reason,
        "images": {
            "count": len(scan.images),
            "bytes": sum(im.size for im in scan.images),
            "examples": [im.name for im in scan.images[:examples]],
        },
        "tables": scan.tables,
        "rows": int(len(rows)),
        "columns": columns,
        "suggested": suggested,
        "to_confirm": to_confirm,
        "set_aside": [{"path": a.path, "reason": a.reason, "kept": a.kept} for a in scan.set_aside],
        "problems": {
            "count": len(probs),
            "by_kind": dict(Counter(p.kind for p in probs)),
            "items": [p.to_dict() for p in probs[:max_problems]],
        },
    }


def summarise(scans: list[Scan], sources: list[str] | None = None, **kw) -> dict[str, Any]:
    """Every part, plus totals."""
    parts = [summarise_scan(s, **kw) for s in scans]
    return {
        "aqqua-scan": SCHEMA_VERSION,
        "sources": list(sources or []),
        "parts": parts,
        "images": sum(p["images"]["count"] for p in parts),
        "set_aside": sum(len(p["set_aside"]) for p in parts),
        "problems": sum(p["problems"]["count"] for p in parts),
    }


def _n(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def render_text(summary: dict[str, Any], *, max_columns: int = 40, max_items: int = 10) -> str:
    """The summary for a person reading a terminal."""
    out: list[str] = []
    parts = summary["parts"]
    out.append(
        f"{_n(len(parts), 'part')}, {_n(summary['images'], 'image')}, "
        f"{summary['set_aside']} set aside, {_n(summary['problems'], 'problem')}"
    )
    for i, p in enumerate(parts, 1):
        out.append("")
        out.append(
            f"[{i}] {p['kind']}: {p['label'] or p['root']}  (confidence {p['confidence']:.2f})"
        )
        if p["reason"]:
            out.append(f"    why: {p['reason']}")
        out.append(f"    where: {p['root']}")
        im = p["images"]
        ex = ", ".join(im["examples"][:3])
        out.append(f"    images: {im['count']}" + (f"  e.g. {ex}" if ex else ""))
        if p["tables"]:
            out.append(
                f"    tables: {', '.join(p['tables'][:max_items])}"
                + (" …" if len(p["tables"]) > max_items else "")
            )
        out.append(f"    rows: {p['rows']}")
        if p["columns"]:
            out.append(f"    columns ({len(p['columns'])}):")
            for c in p["columns"][:max_columns]:
                out.append(
                    f"      {c['name']}: {', '.join(repr(s) for s in c['samples']) or '(empty)'}"
                )
            if len(p["columns"]) > max_columns:
                out.append(f"      … and {len(p['columns']) - max_columns} more (see --json)")
        for title, key in (
            ("suggested mapping", "suggested"),
            ("to confirm (not applied until you give it)", "to_confirm"),
        ):
            if not p.get(key):
                continue
            out.append(f"    {title}:")
            for name, spec in p[key].items():
                src = (
                    f"column {spec['column']!r}"
                    if "column" in spec
                    else f"constant {spec.get('constant')!r}"
                    if "constant" in spec
                    else f"pattern {spec.get('pattern')!r}"
                )
                extra = ", ".join(f"{k} {spec[k]}" for k in ("format", "unit") if k in spec)
                conf = f" [{spec['confidence']:.2f}]" if "confidence" in spec else ""
                why = f" — {spec['reason']}" if spec.get("reason") else ""
                out.append(f"      {name} ← {src}{' (' + extra + ')' if extra else ''}{conf}{why}")
        if p["set_aside"]:
            out.append(f"    set aside ({len(p['set_aside'])}):")
            for a in p["set_aside"][:max_items]:
                out.append(f"      {a['path']}: {a['reason']}")
            if len(p["set_aside"]) > max_items:
                out.append(f"      … and {len(p['set_aside']) - max_items} more (see --json)")
        pr = p["problems"]
        if pr["count"]:
            kinds = ", ".join(f"{k} {n}" for k, n in pr["by_kind"].items())
            out.append(f"    problems ({pr['count']}: {kinds}):")
            for item in pr["items"][:max_items]:
                where = item["file"] or ""
                if item["row"] is not None:
                    where += f", row {item['row']}"
                if item["field"]:
                    where += f", field {item['field']}"
                if item["value"] is not None:
                    where += f", value {item['value']!r}"
                out.append(
                    f"      {item['severity']}: {where + ': ' if where else ''}{item['message']}"
                )
            if pr["count"] > max_items:
                out.append(f"      … and {pr['count'] - max_items} more (see --json)")
    return "\n".join(out)


__all__ = ["summarise", "summarise_scan", "render_text", "ROW_COL", "TABLE_COL"]
