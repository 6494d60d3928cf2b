"""`aqqua-packer inventory ROOT…`: list every dataset below some folders, for AqQua's data sharing
form.  Thin: the work is in aqqua_packer/inventory.py."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .progress import format_bytes

DESCRIPTION = """\
List every dataset below the folders you name (a disk, a share, years of cruises): one line per
dataset the packer recognises (as `scan` does), with the instrument, the number of images, the
size on disk and of the package, first and last sample time, the area covered, the share of
images ready to pack now, what is missing most, and the transfer AqQua recommends for its size.
This is what AqQua's data sharing form asks for; --csv writes it as a table with a TOTAL row.
A folder that cannot be read is listed with its problem; the others are still read."""

EXAMPLE = """\
example:
  aqqua-packer inventory /media/lab-disk --csv datasets-for-aqqua.csv
  aqqua-packer inventory ~/cruises ~/ifcb-data --depth 3 --json > inventory.json"""


def add_command(sub) -> None:
    from .inventory import DEFAULT_DEPTH

    sp = sub.add_parser(
        "inventory",
        help="list every dataset below some folders, for AqQua's data sharing form",
        description=DESCRIPTION,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sp.add_argument(
        "roots", nargs="+", type=Path, metavar="ROOT", help="folders (or zips) to look through"
    )
    sp.add_argument(
        "--csv", type=Path, metavar="FILE", help="also write the table, with a TOTAL row, to FILE"
    )
    sp.add_argument(
        "--json", action="store_true", help="print one JSON object instead of the table"
    )
    sp.add_argument(
        "--depth",
        type=int,
        default=DEFAULT_DEPTH,
        metavar="N",
        help=f"look for datasets at most N folder levels below each ROOT (default {DEFAULT_DEPTH})",
    )
    sp.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    sp.set_defaults(func=cmd_inventory)


def render_text(inv) -> str:
    """The inventory for a person reading a terminal: one block per dataset, then the total."""
    out = []
    total = inv.total()
    for r in [*inv.rows, total]:
        out.append("")
        if not r.kind and r.path != "TOTAL":
            out.append(f"{r.path}\n    not read: {r.problem}")
            continue
        head = "TOTAL" if r.path == "TOTAL" else f"{r.path}"
        what = r.label if r.path == "TOTAL" else r.instrument
        out.append(f"{head}  ({what})")
        pct = r.ready_percent
        out.append(
            f"    {r.images:,} images, {format_bytes(r.bytes_on_disk)} on disk, "
            f"package about {format_bytes(r.package_bytes)}; "
            + ("no images" if pct is None else f"{pct:.1f}% ready now")
        )
        if r.first:
            out.append(f"    sampled {r.first} to {r.last} UTC")
        if r.south is not None:
            out.append(
                f"    area: latitude {r.south:.4f} to {r.north:.4f}, longitude {r.west:.4f} to {r.east:.4f}"
            )
        if r.most_missing_text():
            out.append(f"    missing most: {r.most_missing_text()}")
        out.append(f"    send by: {r.transfer}")
        if r.problem:
            out.append(f"    problem: {r.problem}")
    n = len(inv.datasets)
    return f"{n} dataset{'s' if n != 1 else ''} found" + "\n".join(out)


def cmd_inventory(args: argparse.Namespace) -> int:
    """Print the inventory (and write the CSV); exit 0 when a dataset was found, else 1."""
    from .cli import make_task
    from .inventory import inventory

    inv = inventory(list(args.roots), make_task(args), depth=args.depth)
    if args.csv:
        inv.to_csv(args.csv)
    if args.json:
        print(json.dumps(inv.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_text(inv))
        if args.csv:
            print(f"\nThe table for the data sharing form is in {args.csv}")
    return 0 if inv.datasets else 1
