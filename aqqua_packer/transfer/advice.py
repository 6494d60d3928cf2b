"""Which way to send, by the package's size, as AqQua asks contributors to choose.

Under about 20 GB a cloud drive (Nextcloud, Google Drive, Dropbox, … through WebDAV or rclone);
20–200 GB a link service such as GigaMove (files up to 100 GB, shared by a link: ``archive``
makes the parts); above that Globus, SFTP or FTP; a hard drive at any size.  Every way stays
available; this only says which one AqQua recommends and why.
"""

from __future__ import annotations

from dataclasses import dataclass

GB = 10**9
CLOUD_MAX = 20 * GB
LINK_MAX = 200 * GB
LINK_PART = 100 * 2**30  # GigaMove takes files up to 100 GB
WEBDAV_SHARD = 512 * 2**20  # a plain WebDAV upload restarts an interrupted shard: keep them small


@dataclass(frozen=True)
class Advice:
    way: str  # "cloud", "link" or "server"
    kinds: tuple[str, ...]  # the target kinds (TargetKind schemes, or "link") of that way
    why: str


def _gb(n: int) -> str:
    if n < GB:  # "0.0 GB" says nothing about a small package
        from ..progress import format_bytes

        return format_bytes(n)
    return f"{n / GB:.1f} GB" if n < 10 * GB else f"{n / GB:.0f} GB"


def recommend(total_bytes: int) -> Advice:
    size = _gb(total_bytes)
    drive = " A hard drive sent by post works at any size."
    if total_bytes < CLOUD_MAX:
        return Advice(
            "cloud",
            ("nextcloud", "rclone", "davs"),
            f"The package is {size}, under 20 GB: AqQua recommends a cloud drive (Nextcloud, or "
            "Google Drive, Dropbox, OneDrive, … through rclone). It is the simplest way at this size."
            + drive,
        )
    if total_bytes <= LINK_MAX:
        return Advice(
            "link",
            ("link",),
            f"The package is {size}, between 20 and 200 GB: AqQua recommends a link service such as "
            "GigaMove (files up to 100 GB, shared by a link). The packer writes the package as parts "
            "of at most 100 GB for you to upload in the browser." + drive,
        )
    return Advice(
        "server",
        ("sftp", "globus", "ftps"),
        f"The package is {size}, above 200 GB: AqQua recommends Globus or its SFTP/FTP server, which "
        "resume large transfers byte by byte." + drive,
    )


def shard_size_advice(scheme: str) -> int | None:
    """A smaller ``--shard-size`` for targets that resend a whole interrupted file (plain WebDAV)."""
    return WEBDAV_SHARD if scheme in ("dav", "davs") else None
