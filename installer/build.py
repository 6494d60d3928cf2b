#!/usr/bin/env python3
"""Build AqQua Packer for the OS this runs on: `python installer/build.py`.

Freezes the app with PyInstaller (installer/aqqua-packer.spec) into dist/aqqua-packer/, then makes
what a lab member downloads and double-clicks:

- Linux: dist/aqqua-packer-VERSION-linux-ARCH.tar.xz (unpack anywhere, no root) and
  dist/aqqua-packer_VERSION_ARCH.deb (installs into /opt/aqqua-packer with a menu entry);
- Windows: dist/aqqua-packer-VERSION-windows-x64-setup.exe (Inno Setup, per user, no admin);
- macOS: dist/AqQua Packer.app and dist/aqqua-packer-VERSION-macos-ARCH.dmg.

It prints each artifact's path.  `--smoke-test` then starts the frozen app with `--smoke-test`
(offscreen: open the main window, pack the sample data, verify) and fails on a non-zero exit or on
any unexpected line on stderr, as qutebrowser's release script does.  `--smoke-test-only EXE` runs
only that check, on an installed copy.  Any failure exits non-zero with one clear line.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import freeze_config as cfg  # noqa: E402

DIST = ROOT / "dist"
WORK = ROOT / "build" / "installer"
FROZEN = DIST / cfg.EXE_NAME  # the onedir app PyInstaller writes

# Lines the frozen app may print on stderr without failing the smoke test: harmless notices from
# Qt's offscreen platform and from a CI machine without a user session.  Anything else fails.
ALLOWED_STDERR = [
    r"^This plugin does not support propagateSizeHints\(\)$",
    r"^This plugin does not support raise\(\)$",
    r"^This plugin does not support grabbing the keyboard$",
    r"^QStandardPaths: XDG_RUNTIME_DIR not set, defaulting to '.*'$",
    r"^QStandardPaths: runtime directory '.*' is not owned by UID \d+, but a directory permissions .*$",
    r"^QStandardPaths: wrong permissions on runtime directory .*$",
    r"^qt\.qpa\.fonts: Populating font family aliases took \d+ ms\..*$",
]
_ALLOWED_STDERR_RE = [re.compile(p) for p in ALLOWED_STDERR]


class BuildError(Exception):
    """A step failed; the message says which and what to look at."""


def log(msg: str) -> None:
    print(f"build: {msg}", flush=True)


def run(cmd: list, quiet: bool = False, **kw) -> subprocess.CompletedProcess:
    if not quiet:
        log("$ " + " ".join(str(c) for c in cmd))
    res = subprocess.run([str(c) for c in cmd], **kw)
    if res.returncode != 0:
        raise BuildError(
            f"`{' '.join(str(c) for c in cmd)[:300]}` failed with exit code {res.returncode}"
        )
    return res


# --- freezing -----------------------------------------------------------------------------------
def write_windows_version_info(version: str, path: Path) -> None:
    """The version resource Windows shows in the .exe's properties."""
    nums = [int(n) for n in re.findall(r"\d+", version)[:4]]
    nums += [0] * (4 - len(nums))
    t = tuple(nums)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"""VSVersionInfo(
  ffi=FixedFileInfo(filevers={t}, prodvers={t}, mask=0x3f, flags=0x0, OS=0x40004,
                    fileType=0x1, subtype=0x0, date=(0, 0)),
  kids=[
    StringFileInfo([StringTable('040904B0', [
      StringStruct('CompanyName', '{cfg.PUBLISHER}'),
      StringStruct('FileDescription', '{cfg.APP_NAME}'),
      StringStruct('FileVersion', '{version}'),
      StringStruct('InternalName', '{cfg.EXE_NAME}'),
      StringStruct('OriginalFilename', '{cfg.EXE_NAME}.exe'),
      StringStruct('ProductName', '{cfg.APP_NAME}'),
      StringStruct('ProductVersion', '{version}')])]),
    VarFileInfo([VarStruct('Translation', [1033, 1200])])
  ]
)
""",
        encoding="utf-8",
    )


def freeze(version: str) -> Path:
    """Run PyInstaller on the spec; returns the app folder (dist/aqqua-packer)."""
    if sys.platform == "win32":
        write_windows_version_info(version, WORK / "version_info.txt")
    cmd = [
        sys.executable,
        "-m",
        "PyInstaller",
        str(HERE / "aqqua-packer.spec"),
        "--noconfirm",
        "--clean",
        "--log-level",
        "WARN",
        "--distpath",
        str(DIST),
        "--workpath",
        str(WORK / "pyinstaller"),
    ]
    run(cmd, cwd=ROOT)
    # Libraries the spec leaves out can leave symlinks to them behind; drop those.
    for p in FROZEN.rglob("*"):
        if p.is_symlink() and not p.exists():
            p.unlink()
    if not frozen_exe(FROZEN).is_file():
        raise BuildError(f"PyInstaller finished but {frozen_exe(FROZEN)} is missing")
    if sys.platform.startswith("linux"):
        prune_orphan_libraries(FROZEN)
        strip_symbols(FROZEN)
    return FROZEN


def elf_needed(path: Path) -> list[str] | None:
    """The sonames an ELF file links (its DT_NEEDED entries); None when it is not an ELF file."""
    with open(path, "rb") as fh:
        if fh.read(4) != b"\x7fELF":
            return None
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def _elf_files(app_dir: Path) -> dict[Path, list[str]]:
    found = {}
    for p in sorted(app_dir.rglob("*")):
        if p.is_file() and not p.is_symlink():
            needed = elf_needed(p)
            if needed is not None:
                found[p] = needed
    return found


def prune_orphan_libraries(app_dir: Path) -> None:
    """Remove system libraries nothing in the app links any more.

    PyInstaller collects a plugin's dependencies before the spec drops the plugin, so dropping
    Qt's GTK theme leaves GTK, Cairo and Pango behind.  Only libraries directly in _internal/
    (where PyInstaller puts collected system libraries) are candidates; libpython is loaded by the
    bootloader itself and stays.
    """
    if not shutil.which("readelf"):
        log("not pruning libraries: `readelf` (binutils) is not installed")
        return
    internal = app_dir / "_internal"
    elves = _elf_files(app_dir)
    removed: list[str] = []
    while True:
        needed = {so for deps in elves.values() for so in deps}
        orphans = [
            p
            for p in elves
            if p.parent == internal
            and p.name.startswith("lib")
            and not p.name.startswith("libpython")
            and p.name not in needed
            and not any(
                link.resolve() == p and link.name in needed
                for link in internal.iterdir()
                if link.is_symlink()
            )
        ]
        if not orphans:
            break
        for p in orphans:
            del elves[p]
            p.unlink()
            removed.append(p.name)
    for link in internal.iterdir():
        if link.is_symlink() and not link.exists():
            link.unlink()
    if removed:
        log(f"removed {len(removed)} libraries nothing links: {', '.join(sorted(removed))}")


def system_libraries(app_dir: Path) -> set[str]:
    """The sonames the app expects from the operating system (linked, not bundled)."""
    bundled = {p.name for p in app_dir.rglob("*")}
    return {so for deps in _elf_files(app_dir).values() for so in deps if so not in bundled}


def glibc_needed(app_dir: Path) -> tuple[int, int]:
    """The newest GLIBC symbol version any bundled file asks for: the oldest glibc it runs on."""
    best = (2, 17)
    for p in app_dir.rglob("*"):
        if p.is_file() and not p.is_symlink():
            data = p.read_bytes()
            if data[:4] != b"\x7fELF":
                continue
            for m in re.finditer(rb"GLIBC_2\.(\d+)(?:\.(\d+))?\x00", data):
                best = max(best, (2, int(m.group(1))))
    return best


def strippable(path: Path) -> bool:
    """Shared libraries whose symbol tables can go (as Debian's dh_strip does).

    Not the executable (its archive is appended to it) and not the libraries auditwheel vendors
    into ``*.libs`` folders: patchelf rewrote those, and strip breaks them ("ELF load command
    address/offset not page-aligned").
    """
    name = path.name
    return (
        path.is_file()
        and not path.is_symlink()
        and (name.endswith(".so") or ".so." in name)
        and not any(part.endswith(".libs") for part in path.parts)
    )


def strip_symbols(app_dir: Path) -> None:
    """Drop symbol tables from the Linux libraries: 400 MB -> 335 MB, about 20 MB less download."""
    strip = shutil.which("strip")
    if not strip:
        log("not stripping symbols: `strip` (binutils) is not installed")
        return
    files = [p for p in sorted(app_dir.rglob("*")) if strippable(p)]
    before = sum(p.stat().st_size for p in files)
    for i in range(0, len(files), 200):
        run([strip, "--strip-unneeded", *files[i : i + 200]], quiet=True)
    after = sum(p.stat().st_size for p in files)
    log(f"stripped {len(files)} libraries: {before / 1e6:.0f} MB -> {after / 1e6:.0f} MB")


def frozen_exe(app_dir: Path) -> Path:
    return app_dir / (cfg.EXE_NAME + (".exe" if sys.platform == "win32" else ""))


def app_bundle_exe() -> Path:
    """macOS: the executable inside the .app, which is what users start."""
    return DIST / f"{cfg.APP_NAME}.app" / "Contents" / "MacOS" / cfg.EXE_NAME


def machine() -> str:
    """x86_64 / arm64, as people name their machines in download pages."""
    m = platform.machine().lower()
    return {"amd64": "x86_64", "aarch64": "arm64"}.get(m, m)


# --- Linux: .tar.xz -----------------------------------------------------------------------------
LAUNCHER = """#!/bin/sh
# Starts the AqQua Packer wizard from wherever this folder was unpacked.
# For the command line, run ./aqqua-packer --help instead.
here=$(dirname "$(readlink -f "$0")")
exec "$here/aqqua-packer" gui "$@"
"""

INSTALL_MENU_ENTRY = """#!/bin/sh
# Adds AqQua Packer to your applications menu (for you only; no administrator rights needed).
# Run it again after moving this folder; remove the entry with: ./install-menu-entry.sh --remove
set -e
here=$(dirname "$(readlink -f "$0")")
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/256x256/apps"
if [ "$1" = "--remove" ]; then
  rm -f "$apps/aqqua-packer.desktop" "$icons/aqqua-packer.png"
  echo "Removed AqQua Packer from the applications menu."
  exit 0
fi
mkdir -p "$apps" "$icons"
cp "$here/aqqua-packer.png" "$icons/aqqua-packer.png"
sed -e "s|^Exec=.*|Exec=\\"$here/aqqua-packer\\" gui|" -e "s|^Icon=.*|Icon=aqqua-packer|" \\
    -e "/^TryExec=/d" "$here/aqqua-packer.desktop" > "$apps/aqqua-packer.desktop"
chmod 644 "$apps/aqqua-packer.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$apps" || true
echo "AqQua Packer is now in your applications menu (it starts $here/aqqua-packer)."
"""


def desktop_entry(version: str, exec_line: str, icon: str, try_exec: str | None = None) -> str:
    """A freedesktop.org menu entry (Desktop Entry Specification 1.4)."""
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.4",
        f"Name={cfg.APP_NAME}",
        "GenericName=Plankton image packer",
        "Comment=Pack plankton images and their metadata for AqQua, and send them",
        f"Exec={exec_line}",
        f"Icon={icon}",
        "Terminal=false",
        "Categories=Science;Biology;",
        "Keywords=plankton;images;AqQua;upload;PlanktoScope;UVP;FlowCam;IFCB;ZooScan;",
        "StartupNotify=true",
        f"X-AqQua-Version={version}",
    ]
    if try_exec:
        lines.insert(7, f"TryExec={try_exec}")
    return "\n".join(lines) + "\n"


def tarball_desktop_entry(version: str) -> str:
    # A desktop file cannot name a path relative to itself; %k (its own location) can.  File
    # managers run it after the user allows launching; install-menu-entry.sh writes one with the
    # absolute path for the applications menu.
    exec_line = r'sh -c "exec \\"\\$(dirname \\"\\$1\\")/aqqua-packer\\" gui" sh %k'
    return desktop_entry(version, exec_line, icon="aqqua-packer")


def _add_tree(tar: tarfile.TarFile, src: Path, arcname: str) -> None:
    def normalise(ti: tarfile.TarInfo) -> tarfile.TarInfo:
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = "root"
        ti.mode = (0o755 if ti.isdir() or ti.mode & 0o111 else 0o644) | (ti.mode & ~0o777)
        return ti

    tar.add(src, arcname=arcname, filter=normalise)


def make_tarball(app_dir: Path, version: str, icon: Path, small: bool = False) -> Path:
    """The unpack-anywhere Linux download: the app, a launcher, a menu entry and its installer."""
    top = f"{cfg.APP_ID}-{version}"
    out = DIST / f"{cfg.APP_ID}-{version}-linux-{machine()}.tar.xz"
    extras = WORK / "tar-extras"
    shutil.rmtree(extras, ignore_errors=True)
    extras.mkdir(parents=True)
    files = {
        "aqqua-packer-gui": (LAUNCHER, 0o755),
        "install-menu-entry.sh": (INSTALL_MENU_ENTRY, 0o755),
        "aqqua-packer.desktop": (tarball_desktop_entry(version), 0o755),
        "README.txt": (tarball_readme(version), 0o644),
    }
    for name, (text, mode) in files.items():
        (extras / name).write_text(text, encoding="utf-8")
        (extras / name).chmod(mode)
    shutil.copy2(cfg.icon_sizes(ROOT).get(256, icon), extras / "aqqua-packer.png")
    (extras / "aqqua-packer.png").chmod(0o644)

    log(f"writing {out.name}")
    # xz, not gzip: the bundled rclone made the .tar.gz 160 MB, over the 150 MB download budget
    # (xz: ~120 MB, and a smaller download over a ship's link).  The xz tool compresses on every
    # core (~4 min on 2 cores for 410 MB); Python's lzma, one core, where there is no xz.
    # A fixed mtime keeps builds comparable.
    xz = shutil.which("xz")
    with open(out, "wb") as raw:
        if xz:
            level = "-9" if small else "-6"
            proc = subprocess.Popen([xz, "-T0", level, "-c"], stdin=subprocess.PIPE, stdout=raw)
            assert proc.stdin is not None
            with tarfile.open(fileobj=proc.stdin, mode="w|", format=tarfile.GNU_FORMAT) as tar:
                _fill_tarball(tar, app_dir, top, extras)
            proc.stdin.close()
            if proc.wait() != 0:
                raise SystemExit(f"build: xz failed ({proc.returncode}) writing {out.name}")
        else:
            import lzma

            with lzma.LZMAFile(raw, "wb", preset=9 if small else 6) as packed:
                with tarfile.open(fileobj=packed, mode="w", format=tarfile.GNU_FORMAT) as tar:
                    _fill_tarball(tar, app_dir, top, extras)
    return out


def _fill_tarball(tar: tarfile.TarFile, app_dir: Path, top: str, extras: Path) -> None:
    _add_tree(tar, app_dir, top)
    for p in sorted(extras.iterdir()):
        _add_tree(tar, p, f"{top}/{p.name}")


def tarball_readme(version: str) -> str:
    return f"""AqQua Packer {version} for Linux
==============================

Start:   double-click "aqqua-packer-gui" (or "aqqua-packer.desktop"), or run ./aqqua-packer-gui
Menu:    ./install-menu-entry.sh adds it to your applications menu (no administrator rights)
Command: ./aqqua-packer --help   (the same command line as on ship computers)
Check:   ./aqqua-packer --smoke-test   (packs the bundled sample data and verifies it)

Nothing else needs installing: Python and every library are inside this folder.
Remove:  ./install-menu-entry.sh --remove, then delete this folder.
"""


# --- Linux: .deb --------------------------------------------------------------------------------
# The Debian packages behind the libraries the frozen app takes from the system: the C library,
# and the graphics stack (OpenGL/EGL, X11's xcb, Wayland), which must match the machine's drivers
# and so are never bundled.  A soname missing here fails the build (see deb_depends).
SONAME_PACKAGES = {
    "libc.so.6": "libc6",
    "libm.so.6": "libc6",
    "libdl.so.2": "libc6",
    "libpthread.so.0": "libc6",
    "librt.so.1": "libc6",
    "libresolv.so.2": "libc6",
    "libutil.so.1": "libc6",
    "libcrypt.so.1": "libcrypt1",
    "ld-linux-x86-64.so.2": "libc6",
    "ld-linux-aarch64.so.1": "libc6",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libOpenGL.so.0": "libopengl0",
    "libGLX.so.0": "libglx0",
    "libxcb.so.1": "libxcb1",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
}
# Only Qt's Wayland plugin links these; without them Qt runs through XWayland, so they are
# recommended (apt installs them; `dpkg -i` does not insist).
RECOMMENDED_PACKAGES = {"libwayland-client0", "libwayland-cursor0", "libwayland-egl1"}


def deb_depends(
    system_sonames: Iterable[str], glibc: tuple[int, int]
) -> tuple[list[str], list[str]]:
    """Depends: and Recommends: for the sonames the app takes from the system, with the glibc
    it needs."""
    unknown = sorted(so for so in system_sonames if so not in SONAME_PACKAGES)
    if unknown:
        raise BuildError(
            f"the app links {', '.join(unknown)} from the system but installer/build.py does not "
            "know which Debian package has it: add it to SONAME_PACKAGES (or bundle it)"
        )
    packages = {SONAME_PACKAGES[so] for so in system_sonames} | {"libc6"}
    # Fonts: Qt renders with fontconfig's configuration and the system's fonts.
    packages |= {"fontconfig-config", "fonts-dejavu-core | fonts-freefont-ttf | fonts-liberation"}
    glibc_dep = f"libc6 (>= {glibc[0]}.{glibc[1]})"
    depends = [glibc_dep if p == "libc6" else p for p in sorted(packages - RECOMMENDED_PACKAGES)]
    return depends, sorted(packages & RECOMMENDED_PACKAGES)


def deb_arch() -> str:
    try:
        return subprocess.run(
            ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"x86_64": "amd64", "arm64": "arm64"}.get(machine(), machine())


def deb_version(version: str) -> str:
    """Debian orders 0.1.0~rc1 before 0.1.0; Python writes 0.1.0rc1."""
    return re.sub(r"(\d)(a|b|rc|dev)(\d*)$", r"\1~\2\3", version.replace("-", "~"))


def deb_control(
    version: str, arch: str, installed_kib: int, depends: list[str], recommends: list[str] = ()
) -> str:
    """The DEBIAN/control file (Debian Policy 5.3)."""
    fields = [
        ("Package", cfg.APP_ID),
        ("Version", deb_version(version)),
        ("Architecture", arch),
        (
            "Maintainer",
            os.environ.get("AQQUA_DEB_MAINTAINER", "AqQua Packer maintainers <packer@aqqua.life>"),
        ),
        ("Installed-Size", str(installed_kib)),
        ("Depends", ", ".join(depends)),
        *([("Recommends", ", ".join(recommends))] if recommends else []),
        ("Section", "science"),
        ("Priority", "optional"),
        ("Homepage", cfg.HOMEPAGE),
        (
            "Description",
            "Pack plankton images and metadata for AqQua\n"
            " AqQua Packer reads what plankton instruments write (PlanktoScope, UVP, FlowCam,\n"
            " IFCB, ZooScan, microscopes, EcoTaxa exports), maps the metadata AqQua needs,\n"
            " shows every gap, packs the images into the AqQua Data Format and sends the\n"
            " package over SFTP or FTP(S). Desktop wizard and headless command line.\n"
            " .\n"
            " Self-contained: installs into /opt/aqqua-packer with its own Python.",
        ),
    ]
    return "".join(f"{k}: {v}\n" for k, v in fields)


DEB_POSTINST = """#!/bin/sh
set -e
if [ "$1" = "configure" ]; then
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q /usr/share/applications || true
  command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true
fi
exit 0
"""

DEB_POSTRM = """#!/bin/sh
set -e
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q /usr/share/applications || true
exit 0
"""


def _tree_kib(path: Path) -> int:
    total = 0
    for p in path.rglob("*"):
        if p.is_file() and not p.is_symlink():
            total += p.stat().st_size
    return (total + 1023) // 1024


def make_deb(app_dir: Path, version: str, icon: Path, small: bool = False) -> Path | None:
    """A .deb that installs into /opt/aqqua-packer, puts `aqqua-packer` on PATH and adds the menu
    entry.  Returns None (with a message) where dpkg-deb does not exist."""
    if not shutil.which("dpkg-deb"):
        log("SKIPPED the .deb: dpkg-deb is not installed here (apt-get install dpkg-dev)")
        return None
    arch = deb_arch()
    root = WORK / "deb-root"
    shutil.rmtree(root, ignore_errors=True)
    opt = root / "opt" / cfg.APP_ID
    shutil.copytree(app_dir, opt, symlinks=True)
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / cfg.EXE_NAME).symlink_to(f"/opt/{cfg.APP_ID}/{cfg.EXE_NAME}")
    apps = root / "usr" / "share" / "applications"
    apps.mkdir(parents=True)
    exe = f"/opt/{cfg.APP_ID}/{cfg.EXE_NAME}"
    (apps / f"{cfg.APP_ID}.desktop").write_text(
        desktop_entry(version, f"{exe} gui", icon=cfg.APP_ID, try_exec=exe), encoding="utf-8"
    )
    hicolor = root / "usr" / "share" / "icons" / "hicolor"
    for size, png in cfg.icon_sizes(ROOT).items():
        (hicolor / f"{size}x{size}" / "apps").mkdir(parents=True)
        shutil.copy2(png, hicolor / f"{size}x{size}" / "apps" / f"{cfg.APP_ID}.png")
    svg = ROOT / "resources" / "icons" / f"{cfg.APP_ID}.svg"
    if svg.is_file():
        (hicolor / "scalable" / "apps").mkdir(parents=True)
        shutil.copy2(svg, hicolor / "scalable" / "apps" / f"{cfg.APP_ID}.svg")
    debian = root / "DEBIAN"
    debian.mkdir()
    depends, recommends = deb_depends(system_libraries(app_dir), glibc_needed(app_dir))
    control = deb_control(version, arch, _tree_kib(root), depends, recommends)
    (debian / "control").write_text(control, encoding="utf-8")
    for name, text in (("postinst", DEB_POSTINST), ("postrm", DEB_POSTRM)):
        (debian / name).write_text(text, encoding="utf-8")
        (debian / name).chmod(0o755)
    for p in [root, *root.rglob("*")]:
        if p.is_symlink():
            continue
        mode = p.stat().st_mode
        p.chmod(0o755 if p.is_dir() or mode & stat.S_IXUSR else 0o644)
    (debian / "postinst").chmod(0o755)
    (debian / "postrm").chmod(0o755)
    out = DIST / f"{cfg.APP_ID}_{deb_version(version)}_{arch}.deb"
    # xz makes the .deb about 25% smaller than gzip but takes minutes on 2 cores: for releases.
    compression = ["-Zxz", "-z6"] if small else ["-Zgzip", "-z6"]
    run(
        ["dpkg-deb", "--root-owner-group", *compression, "--build", root, out],
        stdout=subprocess.DEVNULL,
    )
    return out


# --- Windows: Inno Setup ------------------------------------------------------------------------
def find_iscc() -> str | None:
    found = shutil.which("iscc") or shutil.which("ISCC")
    if found:
        return found
    for base in (os.environ.get("ProgramFiles(x86)"), os.environ.get("ProgramFiles")):
        if base and (Path(base) / "Inno Setup 6" / "ISCC.exe").is_file():
            return str(Path(base) / "Inno Setup 6" / "ISCC.exe")
    return None


def make_windows_setup(app_dir: Path, version: str, icon: Path) -> Path | None:
    iscc = find_iscc()
    if not iscc:
        raise BuildError(
            "Inno Setup's ISCC.exe was not found: install Inno Setup 6 (choco install innosetup)"
        )
    # Inno Setup wants an .ico; Pillow writes one with the sizes Windows asks for.
    from PIL import Image

    ico = WORK / "aqqua-packer.ico"
    ico.parent.mkdir(parents=True, exist_ok=True)
    Image.open(icon).save(
        ico, sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]
    )
    nums = ".".join((re.findall(r"\d+", version) + ["0"] * 4)[:4])
    run(
        [
            iscc,
            "/Q",
            f"/DAppVersion={version}",
            f"/DAppVersionNumeric={nums}",
            f"/DSourceDir={app_dir}",
            f"/DOutputDir={DIST}",
            f"/DIconFile={ico}",
            str(HERE / "windows" / "aqqua-packer.iss"),
        ]
    )
    out = DIST / f"{cfg.APP_ID}-{version}-windows-x64-setup.exe"
    if not out.is_file():
        raise BuildError(f"Inno Setup finished but {out} is missing")
    return out


# --- macOS: .app and .dmg -----------------------------------------------------------------------
def make_dmg(version: str) -> Path:
    app = DIST / f"{cfg.APP_NAME}.app"
    if not app.is_dir():
        raise BuildError(f"PyInstaller did not write {app}")
    out = DIST / f"{cfg.APP_ID}-{version}-macos-{machine()}.dmg"
    run(["bash", HERE / "macos" / "make_dmg.sh", app, out, f"{cfg.APP_NAME} {version}"])
    return out


# --- the smoke test -----------------------------------------------------------------------------
def unexpected_stderr(text: str) -> list[str]:
    """The stderr lines that none of ALLOWED_STDERR explains."""
    return [
        line
        for line in text.splitlines()
        if line.strip() and not any(r.match(line.rstrip()) for r in _ALLOWED_STDERR_RE)
    ]


def smoke_test(
    exe: Path, timeout: float = 600, platform_name: str | None = None, wrapper: list[str] = ()
) -> None:
    """Start the frozen app's self-test; raise BuildError on a failure or unexpected stderr."""
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = platform_name or env.get("QT_QPA_PLATFORM") or "offscreen"
    with tempfile.TemporaryDirectory(prefix="aqqua-smoke-home-") as home:
        env["AQQUA_PACKER_HOME"] = home  # settings and logs of the test stay out of the user's home
        # Nothing from the build machine's Python may leak into the frozen app.
        for var in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"):
            env.pop(var, None)
        t0 = time.monotonic()
        shown = " ".join([*wrapper, str(exe)])
        log(f"smoke test: {shown} --smoke-test (QT_QPA_PLATFORM={env['QT_QPA_PLATFORM']})")
        try:
            res = subprocess.run(
                [*wrapper, str(exe), "--smoke-test"], env=env, capture_output=True, text=True,
                encoding="utf-8", errors="replace",
                timeout=timeout, cwd=home,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise BuildError(f"smoke test of {exe} did not finish within {timeout:.0f} s") from exc
        dt = time.monotonic() - t0
    for line in res.stdout.splitlines():
        print(f"  | {line}")
    bad = unexpected_stderr(res.stderr)
    for line in res.stderr.splitlines():
        print(f"  ! {line}" if line in bad else f"  . {line}")
    if res.returncode != 0:
        raise BuildError(f"smoke test of {exe} FAILED with exit code {res.returncode} ({dt:.1f} s)")
    if bad:
        raise BuildError(
            f"smoke test of {exe} printed {len(bad)} unexpected line(s) on stderr (marked !)"
        )
    log(f"smoke test passed in {dt:.1f} s")


def smoke_tests(exe: Path) -> None:
    """Offscreen everywhere; on Linux also through X11 (Xvfb), the platform plugin users get."""
    smoke_test(exe)
    if sys.platform.startswith("linux"):
        if shutil.which("xvfb-run"):
            smoke_test(exe, platform_name="xcb", wrapper=["xvfb-run", "-a"])
        else:
            log("SKIPPED the X11 smoke test: xvfb-run is not installed (apt-get install xvfb)")


# --- sizes --------------------------------------------------------------------------------------
def biggest_parts(app_dir: Path, n: int = 12) -> list[tuple[int, str]]:
    """The largest files and top-level package folders in the frozen app, for the size budget."""
    internal = app_dir / "_internal"
    base = internal if internal.is_dir() else app_dir
    sizes: dict[str, int] = {}
    for p in base.rglob("*"):
        if p.is_file() and not p.is_symlink():
            rel = p.relative_to(base)
            key = rel.parts[0] if len(rel.parts) > 1 else rel.name
            if key == "PySide6" and len(rel.parts) > 3:  # split Qt into libs and plugins
                key = "/".join(rel.parts[:3])
            sizes[key] = sizes.get(key, 0) + p.stat().st_size
    return sorted(((s, k) for k, s in sizes.items()), reverse=True)[:n]


def report_sizes(app_dir: Path, artifacts: Iterable[Path]) -> None:
    total = sum(p.stat().st_size for p in app_dir.rglob("*") if p.is_file() and not p.is_symlink())
    log(f"app folder {app_dir}: {total / 1e6:.1f} MB; biggest parts:")
    for size, name in biggest_parts(app_dir):
        print(f"  {size / 1e6:8.1f} MB  {name}")
    for a in artifacts:
        if a.is_file():
            log(f"{a.name}: {a.stat().st_size / 1e6:.1f} MB")


LINUX_ARCHIVE_BUDGET_MB = 150


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--smoke-test", action="store_true", help="run the frozen app's smoke test after building"
    )
    ap.add_argument(
        "--smoke-test-only", type=Path, metavar="EXE", help="only run the smoke test of EXE"
    )
    ap.add_argument(
        "--skip-freeze", action="store_true", help="reuse dist/aqqua-packer from an earlier build"
    )
    ap.add_argument(
        "--no-installers", action="store_true", help="only freeze (no archive, .deb, setup or .dmg)"
    )
    ap.add_argument(
        "--small",
        action="store_true",
        help="compress harder for a release (slower: xz for the .deb)",
    )
    args = ap.parse_args(argv)
    try:
        if args.smoke_test_only:
            smoke_tests(args.smoke_test_only)
            return 0
        version = cfg.read_version(ROOT)
        icon = cfg.find_icon(ROOT)
        log(f"AqQua Packer {version} for {sys.platform}/{machine()}, icon {icon.relative_to(ROOT)}")
        t0 = time.monotonic()
        for old in DIST.glob(f"{cfg.APP_ID}[-_]*"):  # earlier versions' downloads
            if old.is_file():
                old.unlink()
        app_dir = FROZEN if args.skip_freeze else freeze(version)
        if not frozen_exe(app_dir).is_file():
            raise BuildError(f"{frozen_exe(app_dir)} is missing: build without --skip-freeze first")
        log(f"froze the app in {time.monotonic() - t0:.0f} s")
        artifacts: list[Path] = []
        if not args.no_installers:
            if sys.platform.startswith("linux"):
                artifacts.append(make_tarball(app_dir, version, icon, small=args.small))
                deb = make_deb(app_dir, version, icon, small=args.small)
                if deb:
                    artifacts.append(deb)
            elif sys.platform == "win32":
                artifacts.append(make_windows_setup(app_dir, version, icon))
            elif sys.platform == "darwin":
                artifacts.append(DIST / f"{cfg.APP_NAME}.app")
                artifacts.append(make_dmg(version))
        report_sizes(app_dir, artifacts)
        if args.smoke_test:
            smoke_tests(app_bundle_exe() if sys.platform == "darwin" else frozen_exe(app_dir))
        print("Built:")
        print(f"  {frozen_exe(app_dir)}")
        for a in artifacts:
            print(f"  {a}")
        if sys.platform.startswith("linux") and artifacts:
            mb = artifacts[0].stat().st_size / 1e6
            if mb > LINUX_ARCHIVE_BUDGET_MB:
                raise BuildError(
                    f"{artifacts[0].name} is {mb:.0f} MB, over the {LINUX_ARCHIVE_BUDGET_MB} MB budget"
                )
        return 0
    except BuildError as exc:
        print(f"build: FAILED: {exc}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
