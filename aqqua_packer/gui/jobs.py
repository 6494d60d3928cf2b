"""What the GUI runs in a separate process (pack, verify).  No Qt here, so the child process
starts without loading Qt; each function takes ``task`` like every core function."""

from __future__ import annotations

from pathlib import Path

from .. import workflow


def pack_job(request, out: Path, ready_only: bool, dataset, *, task):
    """In the pack process: scan, check and pack again from the request (cheaper than shipping
    every row across) — exactly what ``aqqua-packer pack`` does with the same request."""
    options = workflow.PackOptions(skip_incomplete=ready_only)
    return workflow.pack(request, out, options=options, dataset=dataset, task=task)


def verify_job(out: Path, *, task):
    return workflow.verify(out, task=task)
