"""`aqqua-packer --smoke-test`, the self-check every frozen build runs before it ships, run here
from the source tree so a change that would break it shows up in the fast test run, not only
after the 2-minute build in .ci/run."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _build_module():
    spec = importlib.util.spec_from_file_location(
        "aqqua_installer_build_smoke", ROOT / "installer" / "build.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_smoke_test_opens_the_window_packs_and_verifies_the_sample_data_quietly(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "AQQUA_PACKER_HOME": str(tmp_path)}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    res = subprocess.run(
        [sys.executable, "-m", "aqqua_packer", "--smoke-test"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert "smoke: main window: MainWindow" in res.stdout
    assert "smoke: pack: 37 images packed, 3 skipped" in res.stdout  # the 3 deliberate gaps
    assert "smoke: verify: OK" in res.stdout
    assert _build_module().unexpected_stderr(res.stderr) == []
    assert list(tmp_path.iterdir()) == [], "the check wrote into the user's settings folder"


def test_smoke_test_fails_loudly_when_the_sample_data_is_missing(
    qapp, tmp_path, monkeypatch, capsys
):
    import aqqua_packer.resources
    from aqqua_packer.gui.smoke import run_smoke_test

    monkeypatch.setattr(aqqua_packer.resources, "sample_data_dir", lambda: tmp_path / "nowhere")
    assert run_smoke_test() == 1
    err = capsys.readouterr().err
    assert "smoke test FAILED" in err and "sample data is missing" in err
