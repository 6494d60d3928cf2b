"""The headless command line: parse arguments, call the core, render progress.  Nothing else.

Every subcommand is one small function ``cmd_NAME(args) -> int``; the work is in the core.  Errors
in the input reach the user as one clear message (``UserError``), never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import traceback
from pathlib import Path

from . import __version__
from .cli_words import describe_commands, identity
from .problems import UserError
from .progress import Cancelled, ProgressEvent, Task, format_bytes

log = logging.getLogger("aqqua_packer")


# --- progress rendering ---------------------------------------------------------------------
def _fmt_eta(s: float | None) -> str:
    if s is None:
        return ""
    s = int(s)
    return (
        f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )


class ProgressPrinter:
    """Renders ProgressEvents: a one-line bar on a terminal, plain lines otherwise, or JSON lines."""

    def __init__(self, json_lines: bool = False, stream=None, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.json = json_lines
        self.quiet = quiet
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_plain = 0.0
        self._open_line = False

    def __call__(self, ev: ProgressEvent) -> None:
        if self.quiet:
            return
        if self.json:
            d = {k: getattr(ev, k) for k in ev.__dataclass_fields__}
            self.stream.write(json.dumps(d) + "\n")
            self.stream.flush()
            return
        total = f"/{ev.total}" if ev.total is not None else ""
        frac = ev.fraction
        bar = ""
        if frac is not None:
            n = int(frac * 30)
            bar = "[" + "#" * n + "-" * (30 - n) + f"] {frac * 100:5.1f}% "
        rate = f" {ev.rate:.0f} {ev.unit}/s" if ev.rate else ""
        if ev.byte_rate:
            rate += f" {format_bytes(ev.byte_rate)}/s"
        eta = (
            f" ETA {_fmt_eta(ev.eta_seconds)}"
            if ev.eta_seconds is not None and not ev.finished
            else ""
        )
        line = f"{ev.phase}: {bar}{ev.done}{total} {ev.unit}{rate}{eta}"
        if ev.message:
            line += f"  {ev.message}"
        if self.tty:
            self.stream.write("\r\x1b[K" + line[:160])
            if ev.finished:
                self.stream.write("\n")
            self.stream.flush()
        else:
            now = time.monotonic()
            if ev.finished or now - self._last_plain >= 5 or ev.done == 0:
                self._last_plain = now
                self.stream.write(line + "\n")
                self.stream.flush()

    def close(self) -> None:
        pass


def make_task(args: argparse.Namespace) -> Task:
    return Task(
        on_event=ProgressPrinter(
            json_lines=getattr(args, "json_progress", False), quiet=getattr(args, "quiet", False)
        )
    )


# --- shared argument groups -----------------------------------------------------------------
def _add_source_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "sources", nargs="+", type=Path, metavar="SRC", help="folders, zips or files to read"
    )
    p.add_argument(
        "--table", type=Path, help="the metadata table (CSV, TSV, XLSX) to join to the images"
    )
    p.add_argument("--kind", help="force a source kind instead of recognising it (see `scan`)")
    p.add_argument(
        "--map",
        dest="maps",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="take FIELD from COLUMN (FIELD= : leave it unmapped)",
    )
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="FIELD is VALUE for every image; FIELD.format=, FIELD.unit=, FIELD.negate=yes, FIELD.pattern= set one part (docs/mapping.md)",
    )
    p.add_argument("--profile", type=Path, help="a saved mapping profile (JSON)")


def _request(args: argparse.Namespace):
    from .workflow import Request

    return Request(
        sources=list(args.sources),
        table=args.table,
        kind=args.kind,
        maps=args.maps,
        sets=args.sets,
        profile=args.profile,
    )


# --- subcommands ----------------------------------------------------------------------------
def cmd_not_yet(args: argparse.Namespace) -> int:
    raise UserError(f"`aqqua-packer {args.command}` is not available in this version yet.")


def cmd_scan(args: argparse.Namespace) -> int:
    """Print what was recognised in each source; exit 0 when images were found, else 1."""
    from .sources.summary import render_text, summarise
    from .workflow import Request, scan

    scans = scan(Request(sources=list(args.sources), kind=args.kind), make_task(args))
    summary = summarise(scans, [str(s) for s in args.sources])
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    else:
        print(render_text(summary))
    return 0 if summary["images"] else 1


def cmd_check(args: argparse.Namespace) -> int:
    """Map the metadata, print the gap report; exit 0 when every image is ready, else 1."""
    import numpy as np

    from .mapping import save_profile
    from .package.estimate import WHY_LARGER, estimate_package_bytes
    from .report import build_report
    from .workflow import check

    mapped = check(_request(args), make_task(args), decode=args.decode)
    report = build_report(mapped)
    if args.save_profile:
        save_profile(mapped.mapping, args.save_profile)
    if args.problems_csv:
        report.to_csv(args.problems_csv)
    estimate = estimate_package_bytes(mapped, positions=np.arange(len(mapped.items)))
    if args.json:
        out = json.loads(report.to_json(indent=None))
        out["estimated_package_bytes"] = estimate.package_bytes
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(report.to_text())
        if any(p.kind in ("not_mapped", "default_position", "no_join") for p in mapped.problems):
            print(
                "\nOn the command line, --map FIELD=COLUMN takes a field from a column and "
                "--set FIELD=VALUE gives one value for every image (--set zero_position_confirmed=yes "
                "confirms a position of 0, 0); docs/mapping.md has the details."
            )
        if any(p.kind == "needs_timezone" for p in mapped.problems):
            print(
                "\nThe times are local and taken as UTC until you give their time zone: "
                "add --set timezone=… (UTC, +02:00, Europe/Paris)."
            )
        print(f"\nPackage size: {estimate.sentence()} {WHY_LARGER}")
    if args.save_profile and not args.json:
        print(f"Mapping saved as a profile in {args.save_profile}")
    return 0 if report.all_ready else 1


def _size(text: str) -> int:
    """'2G', '500M', '64K' or bytes -> bytes (binary multiples, as file systems count)."""
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}.get(t[-1:], 1)
    try:
        n = int(float(t[:-1] if t[-1:] in "KMGT" else t) * mult)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (use e.g. 2G or 500M)") from None
    if n < 64 * 2**10:
        raise argparse.ArgumentTypeError(f"size {text!r} is too small (at least 64K)")
    return n


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


def _password_provider(args: argparse.Namespace, target, used: dict):
    """AQQUA_PASSWORD, else the keyring, else ask (only on a terminal); ``used`` says which gave it."""
    from .transfer import secrets

    def provide() -> str | None:
        env = os.environ.get("AQQUA_PASSWORD")
        if env:
            used["from"] = "env"
            return env
        if args.password_from_env:
            return None
        if not args.no_keyring:
            stored = secrets.get_password(target)
            if stored:
                used["from"] = "keyring"
                return stored
        if args.unattended_for or not sys.stdin.isatty():
            return None
        import getpass

        password = getpass.getpass(f"Password for {target.user}@{target.host}: ")
        used["from"] = "prompt"
        if password and not args.no_keyring:
            answer = (
                input("Keep it in this computer's keyring so you are not asked again? [y/N] ")
                .strip()
                .lower()
            )
            if answer in ("y", "yes") and not secrets.set_password(target, password):
                print(
                    "aqqua-packer: no keyring is available here; the password was not kept.",
                    file=sys.stderr,
                )
        return password

    return provide


def _confirm_host_key(args: argparse.Namespace):
    if args.accept_new_host_key or args.unattended_for or not sys.stdin.isatty():
        return None

    def confirm(info) -> bool:
        print(
            f"The server {info.host}:{info.port} is new to this computer.\n"
            f"  Its {info.key_type} key fingerprint is {info.fingerprint}\n"
            "  Compare it with the one AqQua gave you.",
            file=sys.stderr,
        )
        return input("Is it the same? Trust this server from now on? [y/N] ").strip().lower() in (
            "y",
            "yes",
        )

    return confirm


def _target_options(args: argparse.Namespace, target):
    """The target kind's own settings (its ``TargetKind.options``) from the options given."""
    import dataclasses

    from .transfer import kind_for

    kind = kind_for(target.scheme)
    if kind.options is None:
        return None
    given = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(kind.options)
        if getattr(args, f.name, None) is not None
    }
    return kind.options(**given)


def cmd_send(args: argparse.Namespace) -> int:
    from .transfer import (
        AuthenticationFailed,
        SendOptions,
        parse_duration,
        parse_rate,
        parse_target,
    )
    from .workflow import send

    target = parse_target(args.target)
    used: dict[str, str] = {}
    options = SendOptions(
        bwlimit=parse_rate(args.bwlimit),
        retries=args.retries,
        identity=args.identity,
        known_hosts=args.known_hosts,
        password_provider=_password_provider(args, target, used),
        accept_new_host_key=args.accept_new_host_key,
        confirm_host_key=_confirm_host_key(args),
        unattended_for=parse_duration(args.unattended_for),
        timeout=args.timeout,
        verify=args.verify,
        ftps_ca=args.ftps_ca,
        on_warning=lambda m: print(f"aqqua-packer: warning: {m}", file=sys.stderr),
        globus_share=args.globus_share,
        globus_source_endpoint=args.globus_endpoint,
        target_options=_target_options(args, target),
    )
    try:
        result = send(args.package, args.target, options=options, task=make_task(args))
    except AuthenticationFailed:
        if used.get("from") == "keyring":  # a stale kept password: forget it so the next run asks
            from .transfer import secrets

            secrets.forget_password(target)
        raise
    arrived = sum(1 for f in result.files if f.state == "arrived")
    for note in result.notes:
        print(f"aqqua-packer: {note}", file=sys.stderr)
    if args.json_progress:
        print(
            json.dumps(
                {
                    "complete": result.complete,
                    "handed_off": result.handed_off,
                    "stopped": result.stopped,
                    "files": [f.__dict__ for f in result.files],
                    "bytes_sent": result.bytes_sent,
                    "interruptions": result.interruptions,
                    "journal": str(result.journal),
                    "exit_code": result.exit_code,
                }
            )
        )
    elif result.complete:
        how = sorted({f.verified_by for f in result.files})
        print(
            f"All {arrived} files of {result.package.name} arrived at {result.target} and were verified ({', '.join(how)})."
        )
    elif result.handed_off:
        print(f"{result.package.name} is ready for Globus; see the steps above.")
    else:
        print(
            f"{arrived} of {len(result.files)} files arrived; stopped: {result.stopped}. "
            "Run the same command again to continue (nothing that arrived will be sent again)."
        )
    return result.exit_code


def cmd_gui(args: argparse.Namespace) -> int:
    from .gui.screen import need_a_screen  # no Qt: it says so before Qt is started

    need_a_screen("gui")
    from .gui.app import main as gui_main  # Qt is imported only here, never by the CLI itself

    return gui_main([])


def cmd_demo(args: argparse.Namespace) -> int:
    from .gui.screen import need_a_screen

    need_a_screen("demo")
    from .gui.app import main as gui_main

    return gui_main([], demo=True)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="aqqua-packer",
        description="Pack plankton images and their metadata into the AqQua Data Format and send them to AqQua.",
    )
    p.add_argument("--version", action="version", version=f"aqqua-packer {__version__}")
    p.add_argument(
        "--smoke-test",
        action="store_true",
        help="start, pack the bundled sample data offscreen, verify, exit",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    sp = sub.add_parser("scan", help="recognise what is in folders, zips or files")
    sp.add_argument(
        "sources", nargs="+", type=Path, metavar="SRC", help="folders, zips or files to look at"
    )
    sp.add_argument("--kind", help="force a source kind instead of recognising it")
    sp.add_argument(
        "--json", action="store_true", help="print one JSON object (see docs/instruments.md)"
    )
    sp.add_argument("--quiet", action="store_true", help="no progress on stderr")
    sp.set_defaults(func=cmd_scan)

    sp = sub.add_parser("check", help="map metadata to the required fields and report every gap")
    _add_source_args(sp)
    sp.add_argument(
        "--save-profile", type=Path, metavar="F", help="save the mapping used as a profile"
    )
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    sp.add_argument(
        "--problems-csv", type=Path, metavar="F", help="also write every problem to a CSV file"
    )
    sp.add_argument(
        "--decode",
        action="store_true",
        help="decode every image (slower); without it each image's header and end are checked",
    )
    sp.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    sp.set_defaults(func=cmd_check)

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

    sp = sub.add_parser(
        "send",
        help="upload a package (SFTP, FTP(S), WebDAV, Nextcloud, any rclone remote) or copy it to a drive; resumable",
    )
    sp.add_argument(
        "package", type=Path, metavar="PACKAGE", help="the package folder that pack wrote"
    )
    sp.add_argument(
        "target",
        metavar="TARGET",
        help="sftp://user@host[:port]/path, ftp://…, ftps://…, davs://…, nextcloud://…, "
        "rclone:REMOTE:path, globus://… or a local folder",
    )
    sp.add_argument("--bwlimit", metavar="RATE", help="bytes per second, with K, M or G (500K, 8M)")
    sp.add_argument("--retries", type=int, default=10, metavar="N")
    sp.add_argument("--identity", type=Path, metavar="KEY", help="SSH private key file")
    sp.add_argument(
        "--known-hosts",
        type=Path,
        metavar="FILE",
        help="known_hosts file to verify the server against",
    )
    sp.add_argument("--json-progress", action="store_true")
    sp.add_argument(
        "--unattended-for",
        metavar="DURATION",
        help="for cron: stop cleanly after 6h, 90m, …; exit 75 = run again",
    )
    sp.add_argument(
        "--accept-new-host-key",
        action="store_true",
        help="trust a server seen for the first time (check its fingerprint!)",
    )
    sp.add_argument(
        "--password-from-env",
        action="store_true",
        help="take the password from AQQUA_PASSWORD only; never ask",
    )
    sp.add_argument(
        "--no-keyring",
        action="store_true",
        help="neither read nor keep the password in the keyring",
    )
    sp.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds without progress before a connection counts as dead",
    )
    sp.add_argument(
        "--ftps-ca", type=Path, metavar="FILE", help="a certificate to trust for ftps://"
    )
    sp.add_argument(
        "--ca-file",
        type=Path,
        metavar="FILE",
        help="davs://, nextcloud://: a CA or certificate to trust (a server with its own certificate)",
    )
    sp.add_argument(
        "--chunk-size",
        type=_size,
        metavar="SIZE",
        help="nextcloud://: bytes per chunk of a large file (5M to 5G; default 10M)",
    )
    sp.add_argument(
        "--rclone-config",
        type=Path,
        metavar="FILE",
        help="rclone:REMOTE:path: the rclone config file (default: rclone's own)",
    )
    sp.add_argument(
        "--verify",
        choices=["auto", "size"],
        default="auto",
        help="auto: sha256 at the server where possible, else ranges read back",
    )
    sp.add_argument(
        "--globus-share",
        type=Path,
        metavar="DIR",
        help="globus://: the folder Globus Connect Personal shares",
    )
    sp.add_argument(
        "--globus-endpoint",
        metavar="ID",
        help="globus://: your own Globus Connect Personal endpoint id",
    )
    sp.set_defaults(func=cmd_send)

    from .cli_ecotaxa import add_commands as add_ecotaxa_commands

    add_ecotaxa_commands(sub)

    from .cli_inventory import add_command as add_inventory_command

    add_inventory_command(sub)

    from .cli_archive import add_commands as add_archive_commands

    add_archive_commands(sub)

    sp = sub.add_parser("gui", help="start the desktop wizard")
    sp.set_defaults(func=cmd_gui)
    sp = sub.add_parser("demo", help="start the desktop wizard on the bundled sample data")
    sp.set_defaults(func=cmd_demo)
    describe_commands(sub)
    p.epilog = "Run `aqqua-packer COMMAND --help` for what each command does, with examples."
    return p


def _log_path() -> Path:
    from .transfer.journal import home  # the one place that names the packer's own folder

    return home() / "logs" / "aqqua-packer.log"


def _record_crash() -> Path | None:
    """Keep the traceback for support in a log file; the user sees one line."""
    try:
        path = _log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} aqqua-packer {__version__}\n")
            fh.write(traceback.format_exc())
        return path
    except OSError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    try:
        if args.smoke_test:
            # the frozen app's self-test (starts Qt offscreen)
            from .gui.smoke import run_smoke_test

            return run_smoke_test()
        if not args.command:
            parser.print_help()
            return 0
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"aqqua-packer: {exc}", file=sys.stderr)
        return exc.exit_code
    except Cancelled:
        print(
            "aqqua-packer: stopped. Run the same command again to continue where it stopped.",
            file=sys.stderr,
        )
        return 130
    except KeyboardInterrupt:
        print(
            "\naqqua-packer: interrupted. Run the same command again to continue where it stopped.",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:
        where = _record_crash()
        hint = f" Details for support are in {where}." if where else ""
        print(f"aqqua-packer: internal error ({type(exc).__name__}: {exc}).{hint}", file=sys.stderr)
        return 3
