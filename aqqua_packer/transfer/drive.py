"""Copy a package to a local folder: a hard drive, a USB stick, or a folder a cloud client syncs.

The copy is resumable (temporary name, fsync every chunk), verified by reading every byte back
from the drive and hashing it, refused up front on a drive without room or on FAT32 with a file
of 4 GiB or more, and followed by a ``README.txt`` on the drive saying what it holds and how to
check it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import sys
import time
from pathlib import Path

from ..problems import UserError
from .base import RemoteFullError, RemoteQuotaError, SendOptions, Session, Writer
from .manifest import MANIFEST, LocalPackage
from .target import Target

FAT32_MAX = 4 * 1024**3 - 1
FAT_TYPES = {"vfat", "msdos", "fat", "fat32", "fat16", "fat12"}


def filesystem_type(path: Path) -> str:
    """The file system holding ``path`` ("ext4", "vfat", "exfat", "ntfs", …), or "" if unknown."""
    path = path.resolve()
    try:
        import psutil

        best = ("", "")
        for part in psutil.disk_partitions(all=True):
            mp = part.mountpoint
            if (str(path) == mp or str(path).startswith(mp.rstrip(os.sep) + os.sep)) and len(
                mp
            ) > len(best[0]):
                best = (mp, part.fstype)
        return best[1].lower()
    except ImportError:
        pass
    if os.name == "nt":
        import ctypes

        root = os.path.splitdrive(str(path))[0] + "\\"
        buf = ctypes.create_unicode_buffer(64)
        ok = ctypes.windll.kernel32.GetVolumeInformationW(  # type: ignore[attr-defined]
            ctypes.c_wchar_p(root), None, 0, None, None, None, buf, len(buf)
        )
        return buf.value.lower() if ok else ""
    if sys.platform == "darwin":  # `mount` says "/dev/disk4s1 on /Volumes/USB (msdos, local, …)"
        import subprocess

        best = ("", "")
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(["mount"], capture_output=True, text=True, timeout=10).stdout
            for line in out.splitlines():
                m = re.match(r"^.+? on (.+) \(([^,)]+)", line)
                if m and (
                    str(path) == m.group(1) or str(path).startswith(m.group(1).rstrip("/") + "/")
                ):
                    if len(m.group(1)) > len(best[0]):
                        best = (m.group(1), m.group(2))
        return best[1].lower()
    if sys.platform.startswith("linux"):
        best = ("", "")
        with contextlib.suppress(OSError), open("/proc/mounts", encoding="utf-8") as fh:
            for line in fh:
                fields = line.split()
                if len(fields) >= 3:
                    mp = fields[1].replace("\\040", " ")
                    if (str(path) == mp or str(path).startswith(mp.rstrip("/") + "/")) and len(
                        mp
                    ) > len(best[0]):
                        best = (mp, fields[2])
        return best[1].lower()
    return ""


def fat32_problem(fstype: str, largest: int, where: Path) -> str | None:
    """The message for a file FAT32 cannot hold, or None."""
    if fstype.lower() in FAT_TYPES and largest > FAT32_MAX:
        return (
            f"{where} is formatted as FAT32, which cannot hold files of 4 GiB or more, and this package has a "
            f"file of {largest / 1024**3:.1f} GiB. Reformat the drive as exFAT (Windows, macOS and Linux all read "
            "it) or NTFS, or pack with smaller shards, then send again."
        )
    return None


class DriveSession(Session):
    name = "folder"
    piece_size = 1 << 20
    can_hash_remotely = True  # we read the copy back from the drive ourselves

    def __init__(self, target: Target, options: SendOptions):
        assert target.local is not None
        self.base = target.local
        self.options = options
        if not self.base.exists():
            if self.base.parent.is_dir():
                try:
                    self.base.mkdir()
                except OSError as exc:
                    raise UserError(
                        f"{self.base}: cannot create this folder ({exc.strerror})."
                    ) from exc
            else:
                raise UserError(
                    f"{self.base}: no such folder. Is the drive plugged in and mounted?"
                )
        if not self.base.is_dir():
            raise UserError(f"{self.base}: not a folder.")

    def _p(self, rel: str) -> Path:
        return self.base.joinpath(*rel.split("/"))

    def size(self, rel: str) -> int | None:
        try:
            return self._p(rel).stat().st_size
        except FileNotFoundError:
            return None

    def mkdirs(self, rel: str) -> None:
        self._p(rel).mkdir(parents=True, exist_ok=True)

    def open_write(self, rel: str, offset: int) -> Writer:
        return _FileWriter(self._p(rel), offset)

    def rename(self, src: str, dst: str) -> None:
        os.replace(self._p(src), self._p(dst))
        _fsync_dir(self._p(dst).parent)

    def remove(self, rel: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._p(rel).unlink()

    def sha256(self, rel: str, size: int) -> str | None:
        """Read the copy back from the drive (not from memory, where the OS lets us) and hash it."""
        h = hashlib.sha256()
        with self._p(rel).open("rb") as fh:
            if hasattr(os, "posix_fadvise"):
                with contextlib.suppress(OSError):
                    os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            while b := fh.read(4 << 20):
                h.update(b)
        return h.hexdigest()

    def read_range(self, rel: str, offset: int, n: int) -> bytes:
        with self._p(rel).open("rb") as fh:
            fh.seek(offset)
            return fh.read(n)

    def listdir(self, rel: str) -> list[str]:
        return os.listdir(self._p(rel))

    def preflight(self, package: LocalPackage, remaining_bytes: int, largest: int) -> None:
        free = shutil.disk_usage(self.base).free
        need = remaining_bytes + 1024 * 1024
        if free < need:
            raise UserError(
                f"{self.base}: the drive has {free / 1e9:.2f} GB free but the package needs {need / 1e9:.2f} GB more. "
                "Nothing was copied. Use a larger drive or free some space, then send again."
            )
        problem = fat32_problem(filesystem_type(self.base), largest, self.base)
        if problem:
            raise UserError(problem)

    def complete(self, package: LocalPackage) -> None:
        write_readme(self.base)


def write_readme(folder: Path) -> Path:
    """README.txt next to the packages: what the drive holds and how to check it."""
    packages = sorted(p.name for p in folder.iterdir() if (p / MANIFEST).is_file())
    lines = [
        "AqQua plankton image packages",
        "=============================",
        "",
        f"Written by AqQua Packer on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "This drive holds the following package folders in the AqQua Data Format:",
        "",
        *[f"  - {name}" for name in packages],
        "",
        "Each folder has a file manifest.sha256 listing every other file with its SHA-256 checksum.",
        "To check a package after shipping, open a terminal in its folder and run:",
        "",
        "    sha256sum -c manifest.sha256        (Linux)",
        "    shasum -a 256 -c manifest.sha256    (macOS)",
        "    aqqua-packer verify FOLDER          (anywhere AqQua Packer is installed)",
        "",
        "Every line must say OK. Then post the drive to the address AqQua gave you.",
        "",
    ]
    path = folder / "README.txt"
    if path.exists() and not path.read_text(encoding="utf-8", errors="replace").startswith(
        lines[0]
    ):
        path = folder / "README-AqQua.txt"  # never overwrite someone else's README
    tmp = path.with_name(path.name + ".part")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _fsync_dir(path: Path) -> None:
    if os.name == "posix":
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class _FileWriter(Writer):
    def __init__(self, path: Path, offset: int):
        self.path = path
        self.fh = path.open("r+b" if offset else "wb")
        self.fh.seek(offset)
        self.fh.truncate()
        self.pos = self.confirmed = offset

    @property
    def progress(self) -> int:
        return self.pos

    def write(self, data: bytes) -> None:
        try:
            self.fh.write(data)
        except OSError as exc:
            self._refused(exc)
            raise
        self.pos += len(data)

    def _refused(self, exc: OSError) -> None:
        if exc.errno == errno.ENOSPC:
            raise RemoteFullError(str(self.path.parent), "no space left on the drive") from exc
        if exc.errno == errno.EDQUOT:
            raise RemoteQuotaError(str(self.path.parent), exc.strerror or "") from exc

    def checkpoint(self) -> None:
        try:
            self.fh.flush()
            os.fsync(self.fh.fileno())
        except OSError as exc:
            self._refused(exc)
            raise
        self.confirmed = self.pos

    def finish(self) -> None:
        self.checkpoint()
        self.fh.close()
