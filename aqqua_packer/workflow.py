"""The steps a user takes, as functions the CLI and the GUI both call: scan, check, pack, send.

source → (images, rows) → mapped records → report → shards → transfer.  Nothing here prints or
knows about Qt; progress goes through the ``Task`` each function takes.

This module is also the GUI's one door to the core: ``aqqua_packer.gui`` imports only
``workflow``, ``progress``, ``problems`` and ``fields`` (an import-linter contract in
``pyproject.toml`` says so).  What the GUI needs beyond the steps (option and result types,
profiles, thumbnails, EcoTaxa) is named in ``_DOOR`` below and imported when first used, so that
starting the CLI does not load the package writer, the transfer engine or the EcoTaxa client.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .mapping import (
    FieldSpec,
    Mapped,
    Mapping,
    apply_mapping,
    load_profile,
    parse_cli_mapping,
    save_profile,
)
from .mapping.apply import effective_mapping
from .mapping.plausibility import parse_accept
from .memory import release_free_memory
from .problems import UserError
from .progress import Task, null_task
from .sources.base import Scan
from .sources.registry import scan_paths

if TYPE_CHECKING:
    from .package.dataset import DatasetInfo
    from .package.verify import VerifyResult
    from .package.write import PackOptions, PackResult
    from .transfer import SendOptions, SendResult

__all__ = [
    "FieldSpec",
    "Mapped",
    "Mapping",
    "Request",
    "Scan",
    "check",
    "effective_mapping",
    "load_profile",
    "mark_unreadable",
    "pack",
    "save_profile",
    "scan",
    "send",
    "try_connection",
    "unfinished_pack",
    "verify",
]

# Names the GUI (and the CLI) reach through this module, and the module each comes from.
_DOOR: dict[str, str] = {
    # packing
    "DatasetInfo": ".package.dataset",
    "PackOptions": ".package.write",
    "PackResult": ".package.write",
    "slug": ".package.layout",  # a dataset name as a folder name
    "MANIFEST": ".package.layout",
    "package_bytes": ".package.write",
    "WHY_LARGER": ".package.estimate",
    "estimate_package_bytes": ".package.estimate",
    # plausibility rules by problem kind, and their two grades
    "PLAUSIBILITY_RULES": ".mapping.plausibility:BY_KIND",
    "IMPOSSIBLE": ".mapping.plausibility",
    "SUSPICIOUS": ".mapping.plausibility",
    "SUSPICIOUS_KINDS": ".mapping.plausibility",
    # the gap report's words for problem kinds
    "KIND_WORDS": ".report",
    "VerifyResult": ".package.verify",
    # sending
    "SendOptions": ".transfer",
    "SendResult": ".transfer",
    "DavOptions": ".transfer.webdav",
    "plan": ".transfer",
    "read_package": ".transfer",
    "parse_rate": ".transfer",
    "parse_target": ".transfer",
    "get_password": ".transfer.secrets",
    "set_password": ".transfer.secrets",
    # pixels, for thumbnails
    "ImageRef": ".sources.base",
    "load_image": ".sources.pixels",
    # EcoTaxa: log in, share with AqQua's account, export a project
    "ACCESS": ".ecotaxa.client",
    "AQQUA_EMAIL": ".ecotaxa.client",
    "DEFAULT_SERVER": ".ecotaxa.client",
    "NotFound": ".ecotaxa.client",
    "SessionExpired": ".ecotaxa.client",
    "person": ".ecotaxa.client",
    "right_of": ".ecotaxa.client",
    "ecotaxa_connect": ".ecotaxa.login:connect",
    "RunStopped": ".ecotaxa.share",
    "change_viewer": ".ecotaxa.share",
    "export_project": ".ecotaxa.export",
}
__all__ += sorted(_DOOR)


def __getattr__(name: str) -> Any:
    """The names in ``_DOOR``, imported on first use."""
    where = _DOOR.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, _, attr = where.partition(":")
    value = getattr(importlib.import_module(module, __package__), attr or name)
    globals()[name] = value
    return value


@dataclass
class Request:
    """What the user asked for: sources and how to read them.  The GUI builds the same object."""

    sources: list[Path]
    table: Path | None = None
    kind: str | None = None
    maps: list[str] = field(default_factory=list)  # --map FIELD=COLUMN
    sets: list[str] = field(default_factory=list)  # --set FIELD=VALUE
    profile: Path | None = None
    mapping: Mapping | None = None  # a mapping built in the GUI; overrides profile/maps/sets
    accept: list[str] = field(default_factory=list)  # --accept KIND[:FIELD] (suspicious kinds)

    def given_mapping(self) -> Mapping:
        if self.mapping is not None:
            m = self.mapping
        else:
            m = load_profile(self.profile) if self.profile else Mapping()
            m = m.merged(parse_cli_mapping(self.maps, self.sets))
        if self.accept:
            accepted = [str(a) for a in parse_accept(self.accept)]
            m = m.merged(Mapping(accepted=accepted))
        return m


def scan(request: Request, task: Task | None = None) -> list[Scan]:
    task = task or null_task()
    if not request.sources:
        raise UserError("No sources given: name at least one folder, zip or file.")
    scans = scan_paths(request.sources, task, kind=request.kind, table=request.table)
    release_free_memory()  # the folder listings and table parse are done with
    return scans


def check(
    request: Request,
    task: Task | None = None,
    scans: list[Scan] | None = None,
    *,
    open_images: bool = True,
    decode: bool = False,
) -> Mapped:
    """Scan (unless ``scans`` are given) and apply the mapping: the basis of the gap report.

    ``open_images``: look at every image's header too (``sources.probe``), so that empty, cut-short
    and not-an-image files are problems now, not half-way through packing; ``decode``: decode
    every image instead (slower; finds damage inside the pixels)."""
    task = task or null_task()
    scans = scans if scans is not None else scan(request, task)
    mapped = apply_mapping(scans, request.given_mapping(), task)
    release_free_memory()  # the per-field text and parse results are done with
    if open_images or decode:
        mark_unreadable(mapped, task, decode=decode)
    return mapped


def mark_unreadable(mapped: Mapped, task: Task, *, decode: bool = False) -> int:
    """Open (or decode) every item's image; each one that cannot be read becomes an
    ``unreadable_image`` problem and is not ready.  Returns how many."""
    import numpy as np

    from .sources.probe import unreadable_images

    items = mapped.items
    if not len(items):
        return 0
    used = set(np.unique(items.scan).tolist())
    bad = unreadable_images(mapped.scans, task, decode=decode, which=used.__contains__)
    if not bad:
        return 0
    key = items.scan.astype(np.int64) << 32 | items.image.astype(np.int64)
    wanted = {si << 32 | j: why for (si, j), why in bad.items()}
    hit = np.flatnonzero(np.isin(key, np.fromiter(wanted, np.int64, len(wanted))))
    for i in hit.tolist():
        mapped.add_unreadable(i, wanted[int(key[i])])
    return len(hit)


def pack(
    request: Request,
    out: Path,
    *,
    options: PackOptions | None = None,  # workers, shard size, skip_incomplete, ...
    dataset: DatasetInfo | None = None,  # who, what, licence -> image-set.toml
    task: Task | None = None,
    mapped: Mapped | None = None,  # reuse a check() result (the GUI has one) instead of re-scanning
) -> PackResult:
    """Write (or resume) a package at ``out``.

    Stops with a UserError summarising the gaps when some images are not ready, unless
    ``options.skip_incomplete``.
    """
    from .package.dataset import DatasetInfo
    from .package.write import PackOptions, start_workers_early, write_package

    task = task or null_task()
    options = options or PackOptions()
    if options.workers != 1:
        start_workers_early()  # their start-up overlaps scanning and mapping
    if mapped is None:  # packing decodes every image anyway: no separate look at them first
        mapped = check(request, task, open_images=False)
    return write_package(
        mapped, Path(out), options, dataset or DatasetInfo(), task
    )


def send(
    package: Path, target: str, *, options: SendOptions | None = None, task: Task | None = None
) -> SendResult:
    """Send (or resume sending) a package to ``target`` (sftp://, ftp://, ftps:// or a folder).
    ``options``: bandwidth limit, retries, ...

    Running it again with the same package and target resumes: the journal and the server's copy
    say what has arrived.  ``transfer.plan(package, target)`` tells the same without connecting."""
    from .transfer import SendOptions, send_package

    return send_package(Path(package), target, options or SendOptions(), task or null_task())


def verify(package: Path, *, task: Task | None = None) -> VerifyResult:
    """Check a written package against its manifest (every file's checksum, every record)."""
    from .package.verify import verify_package

    return verify_package(Path(package), task=task)


def unfinished_pack(out: Path) -> bool:
    """Whether a pack was started at ``out`` and not finished (running pack again resumes it)."""
    from .package.layout import STATE_DIR

    return (Path(out) / STATE_DIR).exists()


CONNECTION_PROBE = ".aqqua-packer-probe"


def try_connection(
    target: str, options: SendOptions | None = None, task: Task | None = None
) -> str:
    """Log in, make the folder, write and remove a tiny probe file: everything a send needs,
    without sending the package.  Returns a one-line account of what worked; raises UserError
    saying what did not."""
    from .transfer import SendOptions, parse_target
    from .transfer.engine import open_session  # the engine's own way to connect: an honest test

    task = task or null_task()
    options = options or SendOptions()
    tgt = parse_target(target)
    if tgt.scheme == "rclone":
        from .transfer.rclone import test_remote

        return test_remote(tgt, options)
    if tgt.scheme == "globus":
        raise UserError(
            "A Globus hand-off cannot be tested here; “Send” stages the package and tells you the next step."
        )
    task.status(f"Connecting to {tgt.canonical}")
    session = open_session(tgt, options)
    try:
        task.check()
        session.mkdirs("")
        w = session.open_write(CONNECTION_PROBE, 0)
        w.write(b"AqQua Packer connection test\n")
        w.finish()
        session.remove(CONNECTION_PROBE)
    finally:
        session.close()
    return f"logged in to {tgt.canonical}; the folder can be written"


def recommend_way(total_bytes: int):
    """Which way AqQua recommends for a package of this size, and why (transfer.advice.Advice)."""
    from .transfer.advice import recommend

    return recommend(total_bytes)


def rclone_remotes(config: Path | None = None) -> list[str]:
    """The user's rclone remotes (what `rclone config` set up); [] when none or no rclone."""
    from .transfer.rclone import RcloneOptions, list_remotes

    try:
        return list_remotes(RcloneOptions(rclone_config=config))
    except (UserError, OSError):
        return []


def rclone_config_command(config: Path | None = None) -> list[str]:
    """The command that starts rclone's own dialogue for a new remote (run it in a terminal)."""
    from .transfer.rclone import RcloneOptions, config_command

    return config_command(RcloneOptions(rclone_config=config))


def archive(package: Path, out: Path, *, part_size: int | None = None, task: Task | None = None):
    """The package as tar parts + SHA256SUMS for a link service (transfer.archive.ArchiveResult)."""
    from .transfer.advice import LINK_PART
    from .transfer.archive import archive as write_parts

    return write_parts(Path(package), Path(out), part_size or LINK_PART, task or null_task())


def mp_context(*, may_fork: bool = True):
    """How child processes start, for the GUI's: the package workers' own context
    (package.pool.mp_context), so there is one rule for both (the GUI asks for no fork)."""
    from .package.pool import mp_context as context

    return context(may_fork=may_fork)
