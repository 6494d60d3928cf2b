"""The command line's words for people: what each command is for, with an example, and who is
contributing when ``pack`` is not told (what the desktop wizard remembered).  Kept apart from
cli.py so that the argument parsing stays short."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from pathlib import Path


def remembered_identity() -> dict:
    """The "about you" answers the desktop wizard remembered (settings.json), or {}."""
    base = Path(os.environ.get("AQQUA_PACKER_HOME") or Path.home() / ".aqqua-packer")
    try:
        data = json.loads((base / "settings.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    about = data.get("about") if isinstance(data, dict) else None
    return about if isinstance(about, dict) else {}


def identity(args: argparse.Namespace) -> dict:
    """Who contributes: the options given, else what the wizard remembered (said on stderr), else
    one warning naming what image-set.toml will lack."""
    remembered = remembered_identity()
    who: dict = {}
    taken = []
    for key in ("contributor", "email", "institution", "licence"):
        given = getattr(args, key, None)
        if given:
            who[key] = given
        elif remembered.get(key):
            who[key] = str(remembered[key])
            taken.append(key)
        else:
            who[key] = ""
    who["coauthors"] = (
        [str(c) for c in remembered.get("coauthors") or []] if not args.coauthor else []
    )
    if who["coauthors"] and not args.coauthor:
        taken.append("co-authors")
    who["licence"] = who["licence"] or "CC-BY-4.0"
    if taken:
        shown = ", ".join(
            f"{k} {who[k]}" if k != "co-authors" else f"co-authors {'; '.join(who['coauthors'])}"
            for k in taken
        )
        print(f"aqqua-packer: as remembered from the desktop wizard: {shown}", file=sys.stderr)
    missing = [k for k in ("contributor", "email") if not who[k]]
    if not args.name:
        missing.append("name")
    if missing:
        words = {
            "contributor": "your name (--contributor)",
            "email": "your e-mail (--email)",
            "name": "a dataset name (--name; the folder's name is used)",
        }
        print(
            "aqqua-packer: warning: the package will not say "
            + ", ".join(words[k] for k in missing)
            + ". AqQua needs them to credit you and to reach you: add them to the command to include them.",
            file=sys.stderr,
        )
    return who


# What each command is for, and an example, in the words of docs/guide.md.
_ABOUT = {
    "scan": (
        "Recognise which instrument wrote each source and count its images and tables. "
        "SRC is a folder, a zip or single files, as the instrument or its software wrote them. "
        "Nothing is written.",
        "aqqua-packer scan ~/data/cruise42/planktoscope-export",
    ),
    "check": (
        "Read the sources (SRC: folders, zips or files), map their columns to the fields AqQua "
        "needs (date and time, position, depth or altitude, pixel size) and report every gap: "
        "which images lack which field, and why. Also says how big the package will be. "
        "Nothing is written. Exit 0 when every image is ready, 1 when some are not.",
        "aqqua-packer check ~/data/uvp6 --map pixel_size=acq_pixel --set timezone=UTC",
    ),
    "pack": (
        "Write a package in the AqQua Data Format into the folder DIR (it must be new or empty). "
        "Images are stored as their decoded pixels, compressed without loss. Stopping is safe: "
        "the same command again continues where it stopped. Who you are is taken from "
        "--contributor/--email/--institution, else from what the desktop wizard remembered.",
        "aqqua-packer pack ~/data/uvp6 --out ~/AqQua-packages/uvp6-2024 --name 'UVP6 cruise 42' "
        "--contributor 'Ann Lee' --email ann@example.org --set timezone=UTC",
    ),
    "verify": (
        "Check the package in the folder DIR: every file against its checksum, every image "
        "decodes, the tables and the images agree. Exit 0 when sound, 1 when not.",
        "aqqua-packer verify ~/AqQua-packages/uvp6-2024",
    ),
    "info": (
        "Say what the package in the folder DIR holds: images, bytes, fields, time and space "
        "covered.",
        "aqqua-packer info ~/AqQua-packages/uvp6-2024",
    ),
    "send": (
        "Send the package in the folder PACKAGE to TARGET: an sftp://, ftp:// or ftps:// address "
        "AqQua gave you, or a folder (a USB drive, for example). Every file is checked at the "
        "other end. Interrupted? The same command again continues; nothing that arrived is sent "
        "again.",
        "aqqua-packer send ~/AqQua-packages/uvp6-2024 sftp://ann@upload.aqqua.example/incoming\n"
        "  aqqua-packer send ~/AqQua-packages/uvp6-2024 /media/ann/USB-DRIVE",
    ),
    "gui": ("Open the desktop wizard: the same six steps, with a window.", "aqqua-packer gui"),
    "demo": (
        "Open the desktop wizard on 40 bundled example images, to try every step.",
        "aqqua-packer demo",
    ),
}
_OPTION_HELP = {
    "--json": "print the result as one JSON object on stdout instead of text (for scripts)",
    "--json-progress": "report progress as one JSON object per line on stderr (for scripts)",
    "--retries": "how many times to reconnect after the connection drops before giving up (default 10)",
}


def describe_commands(sub) -> None:
    for name, parser in sub.choices.items():
        if name in _ABOUT:  # a command that brings its own description keeps it
            about, example = _ABOUT[name]
            parser.description = textwrap.fill(about, 78)
            parser.epilog = f"example:\n  {example}"
            parser.formatter_class = argparse.RawDescriptionHelpFormatter
        for action in parser._actions:
            for opt in action.option_strings:
                if opt in _OPTION_HELP and not action.help:
                    action.help = _OPTION_HELP[opt]
                elif opt == "--json" and action.help and "JSON" in action.help:
                    action.help = _OPTION_HELP["--json"]
