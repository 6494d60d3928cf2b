"""The one place readers are listed.  Adding an instrument = one module + one line here.

``scan_paths`` asks every reader how sure it is (``detect``) and lets the most confident one scan.
The generic reader (any folder of images, optionally with a table) answers for anything, weakly.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from ..problems import UserError
from ..progress import Task, null_task
from .base import Detection, ImageRef, Scan

# Module names under aqqua_packer.sources, most specific first.  Each has detect() and scan().
READERS: list[str] = [
    "generic",
]


def reader(name: str) -> ModuleType:
    return importlib.import_module(f"{__package__}.{name}")


def detect_all(path: Path) -> list[tuple[str, Detection]]:
    """Every reader's answer for ``path``, most confident first."""
    answers = []
    for name in READERS:
        try:
            det = reader(name).detect(path)
        except UserError:
            raise
        except Exception as exc:  # a reader's bug must not hide the others' answers
            det = Detection(0.0, f"{name} reader failed: {exc}")
        answers.append((name, det))
    answers.sort(key=lambda a: a[1].confidence, reverse=True)
    return answers


def scan_path(path: Path, task: Task | None = None, *, kind: str | None = None) -> list[Scan]:
    """Scan one folder, zip or file with the best reader (or the one named by ``kind``)."""
    task = task or null_task()
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    if kind is None:
        name, det = detect_all(path)[0]
        if det.confidence <= 0:
            raise UserError(f"{path}: no reader recognises this ({det.reason})")
    else:
        if kind not in READERS:
            raise UserError(f"Unknown source kind {kind!r}. Known: {', '.join(READERS)}")
        name, det = kind, reader(kind).detect(path)
    scans = reader(name).scan(path, task)
    for s in scans:
        s.confidence = s.confidence or det.confidence
        s.reason = s.reason or det.reason
    return scans


def scan_paths(
    paths: list[Path],
    task: Task | None = None,
    *,
    kind: str | None = None,
    table: Path | None = None,
) -> list[Scan]:
    """Scan several sources; each may yield several parts.

    ``table`` (the CLI's ``--table``) replaces the rows of every part with that one table, and the
    image-name column is suggested afresh.
    """
    from .generic import suggest_image_column
    from .tables import read_table

    out: list[Scan] = []
    for p in paths:
        out.extend(scan_path(Path(p), task, kind=kind))
    if table is not None:
        rows = read_table(Path(table))
        for s in out:
            s.rows = rows
            s.images = [ImageRef(**{**im.__dict__, "row": None}) for im in s.images]
            col, n = suggest_image_column(rows, s.images)
            fields = s.suggested.setdefault("fields", {})
            if col:
                fields["image"] = {"column": col, "confidence": round(n / max(1, len(s.images)), 2)}
            else:
                fields.pop("image", None)
    return out
