"""A green CI means the real-data and server tests ran: with AQQUA_REQUIRE_FIXTURES=1 (set by
.ci/run) a skip because a fixture or server is absent fails the run, and every such skip in the
suite says so (its reason starts with "absent: ", which tests/conftest.py acts on)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ABSENT = "absent: "

# skips that are not about a fixture or a server: another platform, an optional tool
NOT_ABOUT_FIXTURES = (
    "sys.platform",  # another operating system
    "/proc/mounts",  # not Linux
    'importorskip("psutil")',  # a dependency, not a fixture
    'importorskip("yaml")',
    "no Python 3.12",  # pixel-patrol-aqqua's own Python, installed from PyPI on demand
    "cannot install pixel-patrol-aqqua",
    "this is the 200 % run",  # the usability walk's own second run at 200 % scaling
    "no /proc here",  # not Linux
    "the check is for Linux sessions without a screen",
    "one thread on one processor",  # a one-core machine: the probe uses no threads there
)


def test_probe_a_test_whose_fixture_is_absent():
    """Run by the tests below in a fresh pytest; passes when run on its own."""
    if os.environ.get("AQQUA_PROBE_ABSENT") == "1":
        pytest.skip(ABSENT + "the probe's fixture")


def _probe(require: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AQQUA_PROBE_ABSENT": "1", "AQQUA_REQUIRE_FIXTURES": require}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"{__file__}::test_probe_a_test_whose_fixture_is_absent",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def test_an_absent_fixture_is_a_skip_by_default_and_a_failure_when_required():
    plain = _probe("")
    assert plain.returncode == 0 and "1 skipped" in plain.stdout, plain.stdout
    required = _probe("1")
    assert required.returncode == 1 and "1 failed" in required.stdout, required.stdout
    assert "the probe's fixture" in required.stdout
    assert "AQQUA_REQUIRE_FIXTURES=1 requires it" in required.stdout


def test_ci_requires_the_fixtures():
    assert re.search(r"^export AQQUA_REQUIRE_FIXTURES=", (ROOT / ".ci" / "run").read_text(), re.M)


def test_every_skip_for_an_absent_fixture_or_server_says_absent():
    skip = re.compile(r"pytest\.skip\(|importorskip\(|skipif\(")
    unmarked = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if "bench" in path.parts or path.name == Path(__file__).name:
            continue
        text = path.read_text(encoding="utf-8")
        for m in skip.finditer(text):
            call = text[m.start() : m.start() + 260]
            call = call[: call.find("\n)") + 2] if "\n)" in call else call
            if ABSENT in call or "ABSENT +" in call:
                continue
            if any(
                phrase in text[m.start() - 40 : m.start() + 260] for phrase in NOT_ABOUT_FIXTURES
            ):
                continue
            line = text.count("\n", 0, m.start()) + 1
            unmarked.append(f"{path.relative_to(ROOT)}:{line}: {call.splitlines()[0]}")
    assert unmarked == [], (
        "skips that do not start their reason with 'absent: ' (so AQQUA_REQUIRE_FIXTURES cannot "
        "turn them into failures), nor are about another platform:\n" + "\n".join(unmarked)
    )
