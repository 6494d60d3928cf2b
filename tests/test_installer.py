"""The installer's pieces, checked without a full build (that runs in .ci/run after the tests):
what the frozen app leaves out, the Linux menu entries and launcher, the .deb, the Windows and
macOS scripts, and the CI workflow that builds them."""

from __future__ import annotations

import ast
import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INSTALLER = ROOT / "installer"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


cfg = _load("freeze_config", INSTALLER / "freeze_config.py")
build = _load("aqqua_installer_build", INSTALLER / "build.py")


# --- what goes into the frozen app ----------------------------------------------------------------
@pytest.mark.parametrize(
    "module",
    ["PySide6.QtWebEngineCore", "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtPdf",
     "PySide6.QtMultimedia", "PySide6.Qt3DCore", "pyarrow.flight", "pandas.tests", "tkinter",
     "botocore"],
)  # fmt: skip
def test_unused_heavy_modules_are_excluded(module):
    assert module in cfg.EXCLUDED_MODULES


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def _excluded_imports(root: Path) -> list[str]:
    excluded = set(cfg.EXCLUDED_MODULES)
    offenders = []
    for path in sorted(root.rglob("*.py")):
        for name in _imported_modules(path):
            parts = name.split(".")
            if any(".".join(parts[:i]) in excluded for i in range(1, len(parts) + 1)):
                offenders.append(f"{path.relative_to(root.parent)} imports {name}")
    return offenders


def test_the_app_imports_nothing_the_build_leaves_out():
    """A module the spec excludes but the app imports would crash the installed app only."""
    offenders = _excluded_imports(ROOT / "aqqua_packer")
    assert not offenders, "update installer/freeze_config.py: " + "; ".join(offenders)


def test_the_ifdo_package_imports_nothing_the_build_leaves_out():
    """image-set.toml is built with ifdo (pure Python, no data files: PyInstaller follows its
    imports), so what it imports (yaml, pydantic) must ship too."""
    import ifdo

    offenders = _excluded_imports(Path(ifdo.__file__).parent)
    assert not offenders, "update installer/freeze_config.py: " + "; ".join(offenders)


@pytest.mark.parametrize(
    "dest",
    [
        "PySide6/Qt/lib/libQt6WebEngineCore.so.6",
        "PySide6/Qt/lib/libQt6Quick.so.6",
        "PySide6/Qt/lib/libQt6Qml.so.6",
        "PySide6/Qt/lib/libQt6Pdf.so.6",
        "PySide6/Qt6Quick.dll",
        "PySide6/Qt/lib/QtQuick.framework/Versions/A/QtQuick",
        "PySide6/Qt/plugins/platforms/libqeglfs.so",
        "PySide6/Qt/plugins/platforms/libqvnc.so",
        "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
        "PySide6/Qt/plugins/imageformats/libqpdf.so",
        "PySide6/plugins/sqldrivers/qsqlite.dll",
        "pyarrow/libarrow_flight.so.2600",
        "pyarrow/arrow_flight.dll",
        "libarrow_s3.so.2600",
    ],
)
def test_unused_qt_and_arrow_libraries_are_dropped(dest):
    assert not cfg.keep_binary(dest)


@pytest.mark.parametrize(
    "dest",
    [
        "PySide6/Qt/lib/libQt6Core.so.6",
        "PySide6/Qt/lib/libQt6Gui.so.6",
        "PySide6/Qt/lib/libQt6Widgets.so.6",
        "PySide6/Qt/lib/libQt6DBus.so.6",
        "PySide6/Qt/lib/libQt6XcbQpa.so.6",
        "PySide6/Qt6Widgets.dll",
        "PySide6/Qt/lib/QtWidgets.framework/Versions/A/QtWidgets",
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/plugins/platforms/libqwayland.so",
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",
        "PySide6/plugins/platforms/qwindows.dll",
        "PySide6/Qt/plugins/platforms/libqcocoa.dylib",
        "PySide6/Qt/plugins/imageformats/libqjpeg.so",
        "PySide6/Qt/plugins/iconengines/libqsvgicon.so",
        "pyarrow/libarrow.so.2600",
        "pyarrow/libparquet.so.2600",
        "pyarrow/libarrow_substrait.so.2600",  # pyarrow.lib links it
        "pyarrow/libarrow_compute.so.2600",
        "blosc2/blosc2_ext.abi3.so",
        "lmdb/cpython.cpython-311-x86_64-linux-gnu.so",
    ],
)
def test_libraries_the_app_needs_are_kept(dest):
    assert cfg.keep_binary(dest)


def test_translations_headers_and_tests_are_dropped_but_resources_stay():
    assert not cfg.keep_data("PySide6/Qt/translations/qtbase_de.qm")
    assert not cfg.keep_data("PySide6/translations/qtbase_de.qm")
    assert not cfg.keep_data("pyarrow/include/arrow/api.h")
    assert not cfg.keep_data("pandas/tests/io/data/test.csv")
    assert not cfg.keep_data("resources/make_sample_data.py")
    assert cfg.keep_data("resources/sample-data/metadata.csv")
    assert cfg.keep_data("resources/sample-data/images/img_001.png")
    assert cfg.keep_data("certifi/cacert.pem")
    assert cfg.keep_data("pyarrow/py.typed")


def test_version_and_icon_come_from_the_source_tree():
    import aqqua_packer

    assert cfg.read_version(ROOT) == aqqua_packer.__version__
    icon = cfg.find_icon(ROOT)
    assert icon.is_file() and icon.suffix == ".png"
    if (ROOT / "resources" / "icons" / "aqqua-packer-512.png").is_file():
        assert icon == ROOT / "resources" / "icons" / "aqqua-packer-512.png"  # the drawn one
        assert 256 in cfg.icon_sizes(ROOT) and 16 in cfg.icon_sizes(ROOT)


def test_spec_and_hooks_name_what_exists():
    spec = (INSTALLER / "aqqua-packer.spec").read_text(encoding="utf-8")
    assert "hooks" in spec and "entry.py" in spec and "EXCLUDED_MODULES" in spec
    for hook in ("hook-blosc2.py", "hook-lmdb.py", "hook-pyarrow.py"):
        assert (INSTALLER / "hooks" / hook).is_file()
    ast.parse(spec)  # the spec is Python; a syntax error would only show in a full build


def test_frozen_entry_starts_multiprocessing_workers_before_the_app():
    """Pack's worker processes re-run the frozen executable; freeze_support must see them first."""
    source = (INSTALLER / "entry.py").read_text(encoding="utf-8")
    assert source.index("multiprocessing.freeze_support()") < source.index("from aqqua_packer")


# --- the smoke test's stderr filter -------------------------------------------------------------------
def test_smoke_test_tolerates_known_qt_notices_and_nothing_else():
    stderr = "\n".join(
        [
            "This plugin does not support propagateSizeHints()",
            "QStandardPaths: XDG_RUNTIME_DIR not set, defaulting to '/tmp/runtime-root'",
            "",
            'qt.qpa.plugin: Could not load the Qt platform plugin "xcb"',
            "Traceback (most recent call last):",
        ]
    )
    assert build.unexpected_stderr(stderr) == [
        'qt.qpa.plugin: Could not load the Qt platform plugin "xcb"',
        "Traceback (most recent call last):",
    ]


# --- Linux: menu entries, launcher, archive --------------------------------------------------------
def _desktop_keys(text: str) -> dict[str, str]:
    lines = text.splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if line and not line.startswith("#"))


def _exec_argv(exec_value: str, desktop_file: Path) -> list[str]:
    """The Desktop Entry Specification's reading of Exec: the string escapes first (\\\\ is one
    backslash), then arguments split on spaces, where inside double quotes a backslash escapes
    `"`, `$`, backquote and backslash; then field codes (%k = the desktop file's location)."""
    value = exec_value.replace("\\\\", "\\")
    argv, current, quoted, in_arg, i = [], "", False, False, 0
    while i < len(value):
        c = value[i]
        if quoted and c == "\\" and i + 1 < len(value) and value[i + 1] in '"`$\\':
            current += value[i + 1]
            i += 2
            continue
        if c == '"':
            quoted, in_arg = not quoted, True
        elif c == " " and not quoted:
            if in_arg:
                argv.append(current)
            current, in_arg = "", False
        else:
            current += c
            in_arg = True
        i += 1
    assert not quoted, f"unbalanced quotes in Exec={exec_value}"
    if in_arg:
        argv.append(current)
    return [str(desktop_file) if a == "%k" else a for a in argv]


def _validate(path: Path) -> None:
    tool = shutil.which("desktop-file-validate")
    if tool:  # installed by .ci/run; the checks above hold without it
        res = subprocess.run([tool, str(path)], capture_output=True, text=True)
        assert res.returncode == 0 and "error" not in res.stdout, res.stdout + res.stderr


def test_deb_menu_entry_starts_the_wizard_from_opt(tmp_path):
    text = build.desktop_entry(
        "1.2.3",
        "/opt/aqqua-packer/aqqua-packer gui",
        "aqqua-packer",
        "/opt/aqqua-packer/aqqua-packer",
    )
    keys = _desktop_keys(text)
    assert keys["Type"] == "Application" and keys["Name"] == "AqQua Packer"
    assert keys["Exec"] == "/opt/aqqua-packer/aqqua-packer gui"
    assert keys["TryExec"] == "/opt/aqqua-packer/aqqua-packer"
    assert keys["Terminal"] == "false"
    assert "Science" in keys["Categories"].split(";")
    (tmp_path / "aqqua-packer.desktop").write_text(text, encoding="utf-8")
    _validate(tmp_path / "aqqua-packer.desktop")


def _fake_app(folder: Path) -> Path:
    """An app folder whose 'aqqua-packer' records how it was started."""
    folder.mkdir(parents=True)
    exe = folder / "aqqua-packer"
    exe.write_text('#!/bin/sh\necho "$0 $*" > "$(dirname "$0")/started-with"\n', encoding="utf-8")
    exe.chmod(0o755)
    (folder / "_internal").mkdir()
    (folder / "_internal" / "lib.txt").write_text("x", encoding="utf-8")
    return exe


@pytest.fixture
def unpacked_tarball(tmp_path, monkeypatch):
    """make_tarball on a small fake app, unpacked into a folder with a space in its name."""
    monkeypatch.setattr(build, "DIST", tmp_path / "dist")
    monkeypatch.setattr(build, "WORK", tmp_path / "work")
    (tmp_path / "dist").mkdir()
    _fake_app(tmp_path / "app")
    archive = build.make_tarball(tmp_path / "app", "1.2.3", cfg.find_icon(ROOT))
    assert archive.name == f"aqqua-packer-1.2.3-linux-{build.machine()}.tar.xz"
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert all(m.uid == 0 and m.gid == 0 for m in members.values())
        dest = tmp_path / "My Apps"
        tar.extractall(dest, filter="tar")
    return dest / "aqqua-packer-1.2.3"


def test_tarball_holds_the_app_a_launcher_and_a_menu_entry(unpacked_tarball):
    names = {p.name for p in unpacked_tarball.iterdir()}
    assert {"aqqua-packer", "_internal", "aqqua-packer-gui", "aqqua-packer.desktop",
            "install-menu-entry.sh", "aqqua-packer.png", "README.txt"} <= names  # fmt: skip
    for name in ("aqqua-packer", "aqqua-packer-gui", "install-menu-entry.sh"):
        assert os.access(unpacked_tarball / name, os.X_OK), name


def test_tarball_launcher_starts_the_wizard_from_wherever_it_was_unpacked(
    unpacked_tarball, tmp_path
):
    link = tmp_path / "on-the-desktop"
    link.symlink_to(unpacked_tarball / "aqqua-packer-gui")  # started through a link elsewhere
    subprocess.run([str(link)], check=True, timeout=30)
    started = (unpacked_tarball / "started-with").read_text(encoding="utf-8").strip()
    assert started == f"{unpacked_tarball / 'aqqua-packer'} gui"


def test_tarball_desktop_file_runs_the_app_beside_it(unpacked_tarball):
    desktop = unpacked_tarball / "aqqua-packer.desktop"
    keys = _desktop_keys(desktop.read_text(encoding="utf-8"))
    argv = _exec_argv(keys["Exec"], desktop)
    subprocess.run(argv, check=True, timeout=30)
    started = (unpacked_tarball / "started-with").read_text(encoding="utf-8").strip()
    assert started == f"{unpacked_tarball / 'aqqua-packer'} gui"
    _validate(desktop)


def test_install_menu_entry_adds_and_removes_a_per_user_entry(unpacked_tarball, tmp_path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "share"), "HOME": str(tmp_path)}
    script = unpacked_tarball / "install-menu-entry.sh"
    subprocess.run([str(script)], check=True, env=env, capture_output=True, timeout=30)
    entry = tmp_path / "share" / "applications" / "aqqua-packer.desktop"
    icon = tmp_path / "share" / "icons" / "hicolor" / "256x256" / "apps" / "aqqua-packer.png"
    assert icon.is_file()
    keys = _desktop_keys(entry.read_text(encoding="utf-8"))
    assert _exec_argv(keys["Exec"], entry) == [str(unpacked_tarball / "aqqua-packer"), "gui"]
    assert keys["Icon"] == "aqqua-packer"
    _validate(entry)
    subprocess.run(_exec_argv(keys["Exec"], entry), check=True, timeout=30)
    assert (unpacked_tarball / "started-with").is_file()

    subprocess.run([str(script), "--remove"], check=True, env=env, capture_output=True, timeout=30)
    assert not entry.exists() and not icon.exists()


# --- Linux: .deb -----------------------------------------------------------------------------------
def test_deb_control_has_the_fields_dpkg_requires():
    control = build.deb_control(
        "1.2.3", "amd64", 4096, ["libc6 (>= 2.35)", "libgl1"], ["libwayland-client0"]
    )
    fields = {}
    for line in control.splitlines():
        if not line.startswith(" "):
            key, value = line.split(": ", 1)
            fields[key] = value
    assert control.endswith("\n")
    for key in ("Package", "Version", "Architecture", "Maintainer", "Description"):
        assert fields[key], key
    assert fields["Package"] == "aqqua-packer"
    assert fields["Installed-Size"] == "4096"
    assert fields["Depends"] == "libc6 (>= 2.35), libgl1"
    assert fields["Recommends"] == "libwayland-client0"
    assert "<" in fields["Maintainer"] and fields["Maintainer"].endswith(">")
    long_description = [line for line in control.splitlines() if line.startswith(" ")]
    assert long_description and all(len(line) <= 80 for line in long_description)


def test_deb_versions_sort_prereleases_before_the_release():
    assert build.deb_version("0.1.0") == "0.1.0"
    assert build.deb_version("0.2.0rc1") == "0.2.0~rc1"
    if shutil.which("dpkg"):
        ok = subprocess.run(
            ["dpkg", "--compare-versions", build.deb_version("0.2.0rc1"), "lt", "0.2.0"]
        )
        assert ok.returncode == 0


def test_deb_depends_on_the_graphics_stack_and_glibc_and_recommends_wayland():
    depends, recommends = build.deb_depends(
        ["libc.so.6", "libGL.so.1", "libEGL.so.1", "libxcb.so.1", "libwayland-client.so.0"], (2, 35)
    )
    assert "libc6 (>= 2.35)" in depends and "libgl1" in depends and "libegl1" in depends
    assert "libxcb1" in depends
    assert recommends == ["libwayland-client0"]


def test_deb_refuses_a_system_library_it_cannot_name_a_package_for():
    with pytest.raises(build.BuildError, match="libfoo.so.3"):
        build.deb_depends(["libc.so.6", "libfoo.so.3"], (2, 31))


@pytest.mark.skipif(not shutil.which("dpkg-deb"), reason="absent: dpkg-deb")
def test_deb_installs_into_opt_with_a_menu_entry_and_a_command(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "DIST", tmp_path / "dist")
    monkeypatch.setattr(build, "WORK", tmp_path / "work")
    (tmp_path / "dist").mkdir()
    _fake_app(tmp_path / "app")
    deb = build.make_deb(tmp_path / "app", "1.2.3", cfg.find_icon(ROOT))
    assert deb.name == f"aqqua-packer_1.2.3_{build.deb_arch()}.deb"
    contents = subprocess.run(
        ["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    assert "root/root" in contents
    assert "./opt/aqqua-packer/aqqua-packer\n" in contents
    assert "./opt/aqqua-packer/_internal/lib.txt" in contents
    assert "./usr/share/applications/aqqua-packer.desktop" in contents
    assert "./usr/share/icons/hicolor/256x256/apps/aqqua-packer.png" in contents
    assert "./usr/share/icons/hicolor/48x48/apps/aqqua-packer.png" in contents
    assert "./usr/bin/aqqua-packer -> /opt/aqqua-packer/aqqua-packer" in contents
    field = subprocess.run(["dpkg-deb", "--field", str(deb), "Package", "Version", "Depends"], capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "Package: aqqua-packer" in field and "Version: 1.2.3" in field and "libc6" in field
    extracted = tmp_path / "x"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(extracted)], check=True)
    _validate(extracted / "usr" / "share" / "applications" / "aqqua-packer.desktop")


# --- Windows and macOS scripts, and the workflow that runs them ------------------------------------
def test_windows_setup_installs_per_user_with_start_menu_entry_and_clean_upgrades():
    iss = (INSTALLER / "windows" / "aqqua-packer.iss").read_text(encoding="utf-8")
    setup = dict(
        line.split("=", 1)
        for line in iss.split("[Setup]", 1)[1].split("\n[", 1)[0].splitlines()
        if "=" in line and not line.startswith(";")
    )
    assert setup["PrivilegesRequired"] == "lowest"  # no admin rights needed
    assert setup["DefaultDirName"].startswith("{autopf}")  # %LOCALAPPDATA%\Programs per user
    assert setup["AppId"].startswith("{{")  # fixed: upgrades replace the same installation
    assert setup["OutputBaseFilename"] == "aqqua-packer-{#AppVersion}-windows-x64-setup"
    assert "{autoprograms}" in iss.split("[Icons]", 1)[1]  # the Start-menu entry
    assert 'Name: "{app}\\_internal"' in iss.split("[InstallDelete]", 1)[1]  # clean upgrade
    assert "UninstallDisplayIcon" in setup
    # build.py passes what the script requires, and names the setup file the same way
    build_src = (INSTALLER / "build.py").read_text(encoding="utf-8")
    for define in ("AppVersion", "SourceDir", "IconFile", "OutputDir", "AppVersionNumeric"):
        assert f"#ifndef {define}" in iss and f"/D{define}=" in build_src
    assert "-windows-x64-setup.exe" in build_src
    assert f'#define AppExe "{cfg.GUI_EXE_NAME}.exe"' in iss
    assert f'#define CliExe "{cfg.EXE_NAME}.exe"' in iss


def test_macos_dmg_script_is_valid_bash_with_an_applications_link():
    script = INSTALLER / "macos" / "make_dmg.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text(encoding="utf-8")
    assert "ln -s /Applications" in text and "hdiutil create" in text and "UDZO" in text
    assert os.access(script, os.X_OK)


def test_installers_workflow_builds_and_smoke_tests_on_windows_and_macos():
    yaml = pytest.importorskip("yaml")
    wf = yaml.safe_load(
        (ROOT / ".github" / "workflows" / "installers.yml").read_text(encoding="utf-8")
    )
    triggers = wf.get("on", wf.get(True))  # YAML 1.1 reads the key `on` as True
    assert "push" in triggers and "pull_request" in triggers
    job = wf["jobs"]["build"]
    oses = [entry["os"] for entry in job["strategy"]["matrix"]["include"]]
    assert any(o.startswith("windows") for o in oses) and any(o.startswith("macos") for o in oses)
    steps = job["steps"]
    runs = "\n".join(step.get("run", "") for step in steps)
    assert "python installer/build.py --smoke-test" in runs
    assert "--smoke-test-only" in runs  # the installed copy is tested too
    assert "/CURRENTUSER" in runs and "unins000.exe" in runs  # per-user install and uninstall
    assert "hdiutil attach" in runs
    for step in steps:
        assert ("uses" in step) != ("run" in step), step
        if "if" in step:
            assert step["if"].startswith("runner.os == '"), step["if"]
    upload = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact")]
    assert upload and upload[0]["with"]["if-no-files-found"] == "error"
