"""`aqqua-packer archive` and `unarchive`: the package as one tar in parts + SHA256SUMS for a link
service (GigaMove, …), and back.  Thin: the work is in aqqua_packer/transfer/archive.py."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_archive(args: argparse.Namespace) -> int:
    from .cli import make_task
    from .transfer.archive import archive

    res = archive(args.package, args.out, args.part_size, make_task(args))
    for note in res.notes:
        print(f"aqqua-packer: {note}", file=sys.stderr)
    print(f"Upload these {len(res.parts)} file(s) and {res.sums.name} (from {res.sums.parent}):")
    for p in res.parts:
        print(f"  {p.name}  {p.stat().st_size} bytes")
    return 0


def cmd_unarchive(args: argparse.Namespace) -> int:
    from .cli import make_task
    from .transfer.archive import unarchive

    root = unarchive(args.parts, args.out, make_task(args))
    print(f"Restored {root}; every file matches its manifest.")
    return 0


def add_commands(sub) -> None:
    """Register `archive` and `unarchive` on the main parser's subparsers."""
    from .cli import _size

    sp = sub.add_parser(
        "archive",
        help="the package as one tar in parts + SHA256SUMS, for link services (resumable)",
    )
    sp.add_argument("package", type=Path, metavar="PACKAGE")
    sp.add_argument("--out", type=Path, required=True, metavar="DIR")
    sp.add_argument(
        "--part-size", type=_size, default=100 * 2**30, metavar="SIZE", help="default 100G"
    )
    sp.add_argument("--json-progress", action="store_true")
    sp.add_argument("-q", "--quiet", action="store_true")
    sp.set_defaults(func=cmd_archive)

    sp = sub.add_parser("unarchive", help="restore a package from its archive parts and verify it")
    sp.add_argument("parts", nargs="+", type=Path, metavar="PART")
    sp.add_argument("--out", type=Path, required=True, metavar="DIR")
    sp.add_argument("--json-progress", action="store_true")
    sp.add_argument("-q", "--quiet", action="store_true")
    sp.set_defaults(func=cmd_unarchive)
