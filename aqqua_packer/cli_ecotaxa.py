"""`aqqua-packer ecotaxa ...`: list EcoTaxa projects, share them with AqQua (and take the access
back), export one with its images to pack it.  Thin: the work is in aqqua_packer/ecotaxa/."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

from .ecotaxa.client import (
    ACCESS,
    AQQUA_EMAIL,
    DEFAULT_SERVER,
    NotFound,
    person,
    right_of,
)
from .problems import UserError

USER_ENV = "AQQUA_ECOTAXA_USER"
COLUMNS = (
    "id",
    "title",
    "instrument",
    "objects",
    "validated_pct",
    "access",
    "contact",
    "your_right",
    "aqqua_can_see",
)


def _ask_password(email: str, server: str):
    def ask() -> str | None:
        if not sys.stdin.isatty():
            return None
        import getpass

        return getpass.getpass(f"EcoTaxa password for {email} ({server}): ")

    return ask


def _connect(args: argparse.Namespace):
    from .ecotaxa.login import connect

    email = args.user or os.environ.get(USER_ENV) or ""
    if not email and sys.stdin.isatty():
        email = input("EcoTaxa e-mail: ").strip()
    if not email:
        raise UserError(f"give your EcoTaxa e-mail with --user EMAIL (or set {USER_ENV})")
    return connect(args.server, email, _ask_password(email, args.server))


def project_rows(client, viewer: dict | None) -> list[dict]:
    """One row per project the user has rights on, in the columns of the data sharing form."""
    me = int(client.me()["id"])
    rows = []
    for p in client.projects():
        mine = right_of(p, me) or ("admin" if 2 in (client.me().get("can_do") or []) else "")
        sees = right_of(p, int(viewer["id"])) if viewer else ""
        rows.append(
            {
                "id": p["projid"],
                "title": p.get("title") or "",
                "instrument": p.get("instrument") or "",
                "objects": int(p["objcount"]) if p.get("objcount") is not None else None,
                "validated_pct": p.get("pctvalidated"),
                "access": ACCESS.get(str(p.get("access")), str(p.get("access"))),
                "contact": person(p.get("contact")) if p.get("contact") else "",
                "your_right": mine,
                "aqqua_can_see": f"yes ({sees})" if sees else "no",
            }
        )
    return rows


def cmd_projects(args: argparse.Namespace) -> int:
    client = _connect(args)
    try:
        viewer = client.find_user(args.with_)
    except NotFound:
        viewer = None
    rows = project_rows(client, viewer)
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=COLUMNS)
            w.writeheader()
            w.writerows(rows)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    if not rows:
        print("You have no rights on any EcoTaxa project.")
    for r in rows:
        pct = f"{r['validated_pct']:.0f}%" if r["validated_pct"] is not None else "?"
        print(
            f"{r['id']:>6}  {r['title'][:40]:<40}  {r['instrument'][:10]:<10} {r['objects'] or 0:>8} "
            f"obj {pct:>4} validated  {r['access']:<7}  you: {r['your_right'] or '-':<8} "
            f"contact: {r['contact'] or '-'}  {args.with_}: {r['aqqua_can_see']}"
        )
    if viewer is None:
        print(f"(no EcoTaxa user with the e-mail {args.with_} was found)", file=sys.stderr)
    if args.csv:
        print(f"Wrote {len(rows)} projects to {args.csv}", file=sys.stderr)
    return 0


def _run_share(args: argparse.Namespace, grant: bool) -> int:
    from .cli import make_task
    from .ecotaxa.share import RunStopped, change_viewer, managed_ids, shared_ids

    client = _connect(args)
    viewer = client.find_user(args.with_)
    everything = args.all_managed if grant else args.all_shared
    if everything and args.ids:
        raise UserError(
            "give project numbers or "
            + ("--all-managed" if grant else "--all-shared")
            + ", not both"
        )
    ids = (managed_ids(client) if grant else shared_ids(client, viewer)) if everything else args.ids
    if everything and not ids:
        print(
            "You manage no project; nothing to do. 0 project(s) changed."
            if grant
            else f"{person(viewer)} can see none of your projects; nothing to do. 0 project(s) changed."
        )
        return 0
    if not ids:
        raise UserError(
            "give the project numbers, or " + ("--all-managed" if grant else "--all-shared")
        )
    what = "View permission for" if grant else "taking back the access of"
    print(
        f"{'Dry run (nothing is changed)' if args.dry_run else 'Changing'}: {len(ids)} project(s), "
        f"{what} {person(viewer)}:"
    )

    def show(o) -> None:
        print("  " + o.line(args.dry_run), flush=True)

    try:
        report = change_viewer(
            client,
            ids,
            viewer,
            grant=grant,
            dry_run=args.dry_run,
            task=make_task(args),
            on_outcome=show,
        )
    except RunStopped as exc:
        raise UserError(f"STOPPED: {exc}") from None
    changed = len(report.changed)
    if args.dry_run:
        n = sum(o.action in ("add", "remove") for o in report.outcomes)
        print(f"Nothing was changed (dry run). {n} project(s) would change.")
    else:
        print(f"{changed} project(s) changed and checked.")
    return 0 if report.ok else 1


def cmd_share(args: argparse.Namespace) -> int:
    return _run_share(args, True)


def cmd_unshare(args: argparse.Namespace) -> int:
    return _run_share(args, False)


def cmd_export(args: argparse.Namespace) -> int:
    from .cli import make_task
    from .ecotaxa.export import export_project

    client = _connect(args)
    res = export_project(client, args.id, args.out, make_task(args), poll_seconds=args.poll)
    extra = f" (resumed at byte {', '.join(map(str, res.resumed_at))})" if res.resumed_at else ""
    print(f"Downloaded {res.zip_path} with {res.images} images{extra}.")
    print(f"Pack it with: aqqua-packer pack {args.out} --out PACKAGE")
    return 0


def add_commands(sub) -> None:
    """Register `ecotaxa` and its subcommands on the main parser's subparsers."""
    ep = sub.add_parser("ecotaxa", help="your EcoTaxa projects: list, share with AqQua, export")
    esub = ep.add_subparsers(dest="ecotaxa_command", metavar="ACTION", required=True)

    def common(p):
        p.add_argument(
            "--server", default=DEFAULT_SERVER, help=f"EcoTaxa API (default {DEFAULT_SERVER})"
        )
        p.add_argument("--user", metavar="EMAIL", help=f"your EcoTaxa e-mail (or {USER_ENV})")
        p.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)

    p = esub.add_parser("projects", help="the projects you have rights on")
    common(p)
    p.add_argument(
        "--with",
        dest="with_",
        default=AQQUA_EMAIL,
        metavar="EMAIL",
        help=f"whose access to show (default {AQQUA_EMAIL})",
    )
    p.add_argument(
        "--csv",
        type=Path,
        metavar="FILE",
        help="also write the list as CSV (for the data sharing form)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_projects)

    for name, flag, fn, text in (
        ("share", "--all-managed", cmd_share, "give AqQua View rights on projects you manage"),
        ("unshare", "--all-shared", cmd_unshare, "take AqQua's View rights back"),
    ):
        p = esub.add_parser(name, help=text)
        common(p)
        p.add_argument("ids", nargs="*", type=int, metavar="ID", help="EcoTaxa project numbers")
        p.add_argument(
            flag,
            dest=flag[2:].replace("-", "_"),
            action="store_true",
            help="every project you manage" if name == "share" else "every project AqQua can see",
        )
        p.add_argument(
            "--with",
            dest="with_",
            default=AQQUA_EMAIL,
            metavar="EMAIL",
            help=f"the account (default {AQQUA_EMAIL})",
        )
        p.add_argument(
            "--dry-run", action="store_true", help="say what would change; change nothing"
        )
        p.set_defaults(func=fn, all_managed=False, all_shared=False)

    p = esub.add_parser("export", help="export a project with its images and download it to pack")
    common(p)
    p.add_argument("id", type=int, metavar="ID")
    p.add_argument("--out", type=Path, required=True, metavar="DIR")
    p.add_argument("--poll", type=float, default=5.0, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_export)
