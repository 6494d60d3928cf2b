"""The architecture is checked, not remembered: Qt stays in aqqua_packer/gui, data flows one way."""

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest


def lint_imports() -> Path:
    """import-linter's command as installed with the running Python (its scripts folder), not
    whichever `lint-imports` comes first on PATH (another environment's, checking other code)."""
    scripts = Path(sysconfig.get_path("scripts"))
    for folder in (scripts, Path(sys.executable).parent):
        for name in ("lint-imports", "lint-imports.exe"):
            if (folder / name).is_file():
                return folder / name
    pytest.fail(f"import-linter is not installed for {sys.executable} (pip install -e '.[test]')")


def test_import_contracts_hold():
    lint = lint_imports()
    assert lint.parent in (Path(sysconfig.get_path("scripts")), Path(sys.executable).parent)
    res = subprocess.run(
        [str(lint)], capture_output=True, text=True, cwd=__file__.rsplit("/tests/", 1)[0]
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_core_imports_without_qt():
    code = (
        "import sys, aqqua_packer.cli, aqqua_packer.workflow, aqqua_packer.sources.registry;"
        "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_ruff_finds_nothing_to_fix():
    res = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "aqqua_packer", "tests", "installer"],
        capture_output=True,
        text=True,
        cwd=__file__.rsplit("/tests/", 1)[0],
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_every_name_the_gui_reaches_through_workflow_exists():
    from aqqua_packer import workflow

    for name in workflow._DOOR:
        assert getattr(workflow, name) is not None, name


def test_starting_the_cli_loads_neither_the_writer_nor_the_transfer_engine_nor_ecotaxa():
    code = (
        "import sys, aqqua_packer.workflow;"
        "loaded = [m for m in sys.modules if m.startswith(('aqqua_packer.package.write',"
        " 'aqqua_packer.transfer.engine', 'aqqua_packer.ecotaxa'))];"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
