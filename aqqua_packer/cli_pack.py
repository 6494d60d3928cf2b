"""The `pack`, `verify` and `info` commands, registered from cli.py."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .cli import _add_source_args, _request, _size, make_task
from .cli_words import identity
from .progress import Task


def cmd_pack(args: argparse.Namespace) -> int:
    """Write (or continue) a package; print where it is and what is in it."""
    from .package.dataset import DatasetInfo
    from .package.write import PackOptions, start_workers_early
    from .workflow import check, pack

    who = identity(args)
    dataset = DatasetInfo(
        name=args.name or "",
        contributor=who["contributor"],
        email=who["email"],
        institution=who["institution"],
        coauthors=list(args.coauthor or who["coauthors"]),
        licence=who["licence"],
        sensor=args.sensor or "",
        sensor_family=args.sensor_family or "",
        description=args.description or "",
    )
    options = PackOptions(
        workers=args.workers,
        skip_incomplete=args.skip_incomplete,
        shard_bytes=args.shard_size,
        compression=args.compression,
    )
    if args.commit_every:
        options.commit_every = args.commit_every
    request, task = _request(args), make_task(args)
    if options.workers != 1:
        start_workers_early()  # as workflow.pack does: their start-up overlaps the check
    mapped = check(request, task, open_images=False)  # packing decodes every image anyway
    if any(p.kind == "needs_timezone" for p in mapped.problems):  # said, not silently assumed
        print(
            "aqqua-packer: warning: the times are local and no time zone was given, so they are "
            "taken as UTC; add --set timezone=… (UTC, +02:00, Europe/Paris) if that is wrong.",
            file=sys.stderr,
        )
    result = pack(request, args.out, options=options, dataset=dataset, task=task, mapped=mapped)
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    if result.already_complete:
        print(f"{result.path} is already complete: {result.images} images. Nothing to do.")
        return 0
    verb = "Finished" if result.resumed else "Packed"
    parts = f" (in {len(result.shards)} parts)" if len(result.shards) > 1 else ""
    print(f"{verb}: {result.images} images{parts}, {result.bytes / 1e6:.1f} MB, in {result.path}")
    if result.skipped:
        print(f"Skipped {result.skipped} images; the list is in {result.skipped_file}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Exit 0 when the package is sound, 1 when any check fails."""
    from .package.verify import verify_package

    task = make_task(args) if not args.json else Task()
    res = verify_package(args.package, task)
    print(json.dumps(res.to_dict()) if args.json else res.summary())
    return 0 if res.ok else 1


def cmd_info(args: argparse.Namespace) -> int:
    from .package.info import info_text, package_info

    info = package_info(args.package)
    print(json.dumps(info) if args.json else info_text(info))
    return 0


def add_commands(sub) -> None:
    sp = sub.add_parser("pack", help="write a package in the AqQua Data Format (resumable)")
    _add_source_args(sp)
    sp.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="the package folder to write"
    )
    sp.add_argument(
        "--workers", type=int, default=0, metavar="N", help="processes to use (default: every core)"
    )
    sp.add_argument(
        "--skip-incomplete",
        action="store_true",
        help="pack the ready images; list the skipped ones",
    )
    sp.add_argument("--json-progress", action="store_true", help="progress as JSON lines on stderr")
    sp.add_argument("--json", action="store_true", help="print the result as one JSON object")
    sp.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    sp.add_argument(
        "--shard-size",
        type=_size,
        default=2 * 2**30,
        metavar="SIZE",
        help="close a shard at this size (default 2G; fits FAT32)",
    )
    sp.add_argument(
        "--compression",
        choices=("fast", "balanced", "small"),
        default="balanced",
        help="lossless in every case: 'fast' packs quickest, 'small' makes the smallest package "
        "(slower), 'balanced' (default) is nearly as small as 'small' and nearly as fast as 'fast'",
    )
    g = sp.add_argument_group("about the dataset (written to image-set.toml)")
    g.add_argument("--name", help="dataset name (also names the files)")
    g.add_argument("--contributor", help="your name")
    g.add_argument("--email", help="your e-mail address")
    g.add_argument("--institution", help="your institution")
    g.add_argument(
        "--coauthor", action="append", metavar="NAME", help="a co-author (repeat for more)"
    )
    g.add_argument(
        "--licence",
        "--license",
        default=None,
        choices=["CC-BY-4.0", "CC0-1.0"],
        help="licence of the images (default: the one the wizard remembered, else CC-BY-4.0)",
    )
    g.add_argument("--sensor", help="instrument, e.g. UVP6, IFCB013")
    g.add_argument("--sensor-family", help="e.g. UVP, IFCB, FlowCam, ZooScan, microscope")
    g.add_argument("--description", help="a sentence about the dataset")
    sp.add_argument(
        "--commit-every", type=int, default=0, help=argparse.SUPPRESS
    )  # tests: many small commits
    sp.set_defaults(func=cmd_pack)

    sp = sub.add_parser(
        "verify", help="check a package: checksums, every image decodes, rows and keys agree"
    )
    sp.add_argument("package", type=Path, metavar="DIR", help="the package folder that pack wrote")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    sp.set_defaults(func=cmd_verify)

    sp = sub.add_parser(
        "info", help="what a package holds: counts, bytes, fields, time and space covered"
    )
    sp.add_argument("package", type=Path, metavar="DIR", help="the package folder that pack wrote")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_info)
