"""The architecture is checked, not remembered: Qt stays in aqqua_packer/gui, data flows one way."""

import shutil
import subprocess
import sys

import pytest


def test_import_contracts_hold():
    lint = shutil.which("lint-imports")
    if lint is None:
        pytest.fail("import-linter is not installed (pip install -e '.[test]')")
    res = subprocess.run([lint], capture_output=True, text=True, cwd=__file__.rsplit("/tests/", 1)[0])
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
