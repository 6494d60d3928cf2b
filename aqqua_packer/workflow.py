"""The steps a user takes, as functions the CLI and the GUI both call: scan, check, pack.

source → (images, rows) → mapped records → report → shards.  Nothing here prints or knows about
Qt; progress goes through the ``Task`` each function takes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .mapping import Mapped, Mapping, apply_mapping, load_profile, parse_cli_mapping
from .mapping.plausibility import parse_accept
from .memory import release_free_memory
from .problems import UserError
from .progress import Task, null_task
from .sources.base import Scan
from .sources.registry import scan_paths


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
    options=None,  # package.write.PackOptions: workers, shard size, skip_incomplete, ...
    dataset=None,  # package.dataset.DatasetInfo: who, what, licence -> image-set.toml
    task: Task | None = None,
    mapped: Mapped | None = None,  # reuse a check() result (the GUI has one) instead of re-scanning
):
    """Write (or resume) a package at ``out``; returns package.write.PackResult.

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


def send(package: Path, target: str, *, options=None, task: Task | None = None):
    """Send (or resume sending) a package to ``target`` (sftp://, ftp://, ftps:// or a folder);
    returns transfer's SendResult.  ``options`` is transfer's SendOptions (bwlimit, retries, ...).

    Running it again with the same package and target resumes: the journal and the server's copy
    say what has arrived.  ``transfer.plan(package, target)`` tells the same without connecting."""
    from .transfer import SendOptions, send_package

    return send_package(Path(package), target, options or SendOptions(), task or null_task())


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
