"""The `send` command (and how it asks for passwords and host keys), registered from cli.py."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .cli import _size, make_task


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


def add_command(sub) -> None:
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
