"""Shared test helpers: where the real instrument fixtures are, and a scratch home per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = Path(os.environ.get("AQQUA_SHARED_FIXTURES", ROOT.parent / "shared" / "fixtures"))


@pytest.fixture
def shared_fixtures() -> Path:
    """The real instrument outputs in ../shared/fixtures; the test is skipped where they are absent."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("../shared/fixtures is not present")
    return SHARED_FIXTURES


@pytest.fixture(autouse=True)
def _scratch_home(tmp_path_factory, monkeypatch):
    """Settings, logs and keyring-free state go to a fresh folder, never the developer's home."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("AQQUA_PACKER_HOME", str(home))
    yield home
