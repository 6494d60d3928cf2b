"""Shared test helpers: where the real instrument fixtures are, a scratch home per test, and the
CI switch that turns "fixture or server absent" skips into failures.

Every skip because something the test needs is absent here (the real instrument fixtures, root
for sshd, a tmpfs mount, pyOpenSSL for the FTPS server, dpkg-deb) gives a reason starting with
``ABSENT`` ("absent: ").  With ``AQQUA_REQUIRE_FIXTURES=1`` (set by .ci/run) such a skip is
reported as a failure, so a green CI means the real-data and server tests ran.  Other skips
(another operating system) stay skips.  tests/test_require_fixtures.py checks both rules.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = Path(os.environ.get("AQQUA_SHARED_FIXTURES", ROOT.parent / "shared" / "fixtures"))
ABSENT = "absent: "  # how every "fixture or server absent" skip reason starts
REQUIRE_FIXTURES = os.environ.get("AQQUA_REQUIRE_FIXTURES", "") == "1"


def _required_but_absent(report) -> bool:
    if not (REQUIRE_FIXTURES and report.skipped):
        return False
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ").startswith(ABSENT)


def _fail_instead(report) -> None:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    report.outcome = "failed"
    report.longrepr = (
        f"{reason.removeprefix('Skipped: ')}: AQQUA_REQUIRE_FIXTURES=1 requires it (CI must run "
        "the real-data and server tests; install or mount what is missing)"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if _required_but_absent(report):
        _fail_instead(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if _required_but_absent(report):
        _fail_instead(report)


@pytest.fixture
def shared_fixtures() -> Path:
    """The real instrument outputs in ../shared/fixtures; the test is skipped where they are absent."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip(ABSENT + f"the real instrument fixtures ({SHARED_FIXTURES})")
    return SHARED_FIXTURES


@pytest.fixture(autouse=True)
def _scratch_home(tmp_path_factory, monkeypatch):
    """Settings, logs and keyring-free state go to a fresh folder, never the developer's home."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("AQQUA_PACKER_HOME", str(home))
    yield home


# --- every package a test writes has an iFDO image-set header ----------------------------------
def ifdo_header_problems(root: Path) -> list[str]:
    """Every image-set.toml the packer wrote below ``root`` whose ``[meta]`` the ``ifdo`` package's
    ImageSetHeader (the iFDO schema of a header) refuses, with why.  Files the packer did not
    write (the transfer tests' stand-ins of random bytes) have no ``[aqqua] packer`` and are left."""
    import tomllib

    from ifdo import ImageSetHeader
    from pydantic import ValidationError

    problems = []
    for folder, _dirs, files in os.walk(root):
        if "image-set.toml" not in files:
            continue
        path = Path(folder) / "image-set.toml"
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        if not str(doc.get("aqqua", {}).get("packer", "")).startswith("aqqua-packer "):
            continue
        try:
            ImageSetHeader.model_validate(doc.get("meta", {}), strict=True)
        except ValidationError as exc:
            problems.append(f"{path}: {exc}")
    return problems


@pytest.fixture(autouse=True)
def _packages_have_ifdo_headers(request):
    """After each test that has a tmp_path: every package it wrote there validates with ifdo."""
    root = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if root is not None and (problems := ifdo_header_problems(root)):
        pytest.fail("image-set.toml is not a valid iFDO header:\n" + "\n".join(problems))


@pytest.fixture(scope="session", autouse=True)
def _shared_packages_have_ifdo_headers(tmp_path_factory):
    """At the end: the packages module- and session-wide fixtures wrote (tmp_path_factory) too."""
    yield
    if problems := ifdo_header_problems(tmp_path_factory.getbasetemp()):
        pytest.fail("image-set.toml is not a valid iFDO header:\n" + "\n".join(problems))


@pytest.fixture
def ifdo_header_check():
    """The check above, for the tests that show it refuses a header iFDO does not allow."""
    return ifdo_header_problems
