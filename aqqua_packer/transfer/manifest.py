"""What a package holds, as the sender sees it: the files its ``manifest.sha256`` lists.

The packer writes ``manifest.sha256`` last, so a package without one is not finished packing and is
refused.  The manifest's paths become remote paths, so a path that could leave the package folder
(absolute, ``..``, backslashes) is refused before anything connects.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..package.layout import MANIFEST, STATE_DIR, manifest_entries, sha256_file
from ..problems import UserError

__all__ = [
    "MANIFEST",
    "LocalPackage",
    "PackageFile",
    "read_package",
    "safe_relative",
    "sha256_file",
]
_SAFE_NAME = re.compile(r"^[^/\\\x00-\x1f]+$")


@dataclass(frozen=True)
class PackageFile:
    """One file of a package: its path relative to the package folder, size and sha256."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class LocalPackage:
    root: Path
    files: tuple[PackageFile, ...]  # the data files, in manifest order
    manifest: PackageFile  # sent last

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def all_files(self) -> tuple[PackageFile, ...]:
        return (*self.files, self.manifest)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.all_files)

    def local(self, f: PackageFile) -> Path:
        return self.root.joinpath(*PurePosixPath(f.path).parts)


def safe_relative(path: str, *, where: str) -> str:
    """Return ``path`` as a clean relative POSIX path, or refuse one that could escape its folder."""
    if "\\" in path or "\x00" in path:
        raise UserError(f"{where}: the path {path!r} contains a backslash or a NUL character.")
    p = PurePosixPath(path)
    if p.is_absolute() or any(part == ".." for part in p.parts) or not p.parts:
        raise UserError(
            f"{where}: the path {path!r} would leave the package folder; refusing to send."
        )
    parts = [part for part in p.parts if part != "."]
    return "/".join(parts)


def _holds_no_images(root: Path) -> bool:
    """True when the package's image-set.toml says it holds 0 images (an older packer wrote such
    packages when every image was set aside); unreadable or absent, it is verify's business."""
    import tomllib

    try:
        with (root / "image-set.toml").open("rb") as fh:
            images = tomllib.load(fh).get("aqqua", {}).get("images")
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return images == 0


def read_package(path: Path) -> LocalPackage:
    """Read a finished package's manifest; refuse unfinished or inconsistent packages clearly."""
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise UserError(f"{path}: not a package folder (it does not exist or is not a folder).")
    if not _SAFE_NAME.match(root.name) or root.name in (".", ".."):
        raise UserError(f"{path}: the package folder's name cannot be used as a remote name.")
    mpath = root / MANIFEST
    if not mpath.is_file():
        hint = (
            " (packing was started but has not finished; run the same `pack` command again)"
            if (root / STATE_DIR).exists()
            else ""
        )
        raise UserError(
            f"{root}: not finished packing: {MANIFEST} is missing{hint}. Only finished packages can be sent."
        )
    data = mpath.read_bytes()
    files: list[PackageFile] = []
    seen: set[str] = set()
    try:
        entries = list(manifest_entries(data.decode("utf-8", errors="replace")))
    except ValueError as exc:
        raise UserError(f"{mpath}: {exc}") from None
    for n, digest, written in entries:
        rel = safe_relative(written, where=f"{mpath}, row {n}")
        if rel == MANIFEST or rel in seen:
            raise UserError(
                f"{mpath}, row {n}: {rel!r} is listed twice or lists the manifest itself."
            )
        seen.add(rel)
        local = root.joinpath(*PurePosixPath(rel).parts)
        if not local.is_file():
            raise UserError(
                f"{mpath}, row {n}: the package file {rel!r} is missing; the package is incomplete."
            )
        files.append(PackageFile(rel, local.stat().st_size, digest))
    if not files:
        raise UserError(f"{mpath}: the manifest lists no files.")
    if _holds_no_images(root):
        raise UserError(
            f"{root}: this package holds no images (image-set.toml says 0), so there is nothing to send. "
            "Pack the images again (`aqqua-packer pack`) and send the new package."
        )
    manifest = PackageFile(MANIFEST, len(data), hashlib.sha256(data).hexdigest())
    return LocalPackage(root, tuple(files), manifest)
