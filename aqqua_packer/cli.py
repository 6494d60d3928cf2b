"""The headless command line: parse arguments, call the core, render progress.  Nothing else.

Every subcommand is one small function ``cmd_NAME(args) -> int``; the work is in the core.  Errors
in the input reach the user as one clear message (``UserError``), never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import traceback
from pathlib import Path

from . import __version__
from .cli_words import describe_commands
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
    p.add_argument(
        "--accept",
        dest="accepts",
        action="append",
        default=[],
        metavar="KIND[:FIELD]",
        help="confirm suspicious values of this kind as right (e.g. ship_speed, "
        "before_instrument:datetime); impossible ones cannot be accepted (docs/mapping.md)",
    )


def _request(args: argparse.Namespace):
    from .workflow import Request

    return Request(
        sources=list(args.sources),
        table=args.table,
        kind=args.kind,
        maps=args.maps,
        sets=args.sets,
        profile=args.profile,
        accept=list(getattr(args, "accepts", []) or []),
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
        out = report.to_dict()  # as report.to_json writes it, encoded once
        out["estimated_package_bytes"] = estimate.package_bytes
        print(json.dumps(out, ensure_ascii=False, default=str))
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

    from .cli_pack import add_commands as add_pack_commands

    add_pack_commands(sub)

    from .cli_send import add_command as add_send_command

    add_send_command(sub)

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
