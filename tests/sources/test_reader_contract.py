"""Every reader keeps the reader contract (``sources.reader.Reader``), no reader leans on another,
and a new instrument is one module plus one registration: a toy reader, added in this test only,
goes through scan, check, pack and verify like a real one."""

from __future__ import annotations

import ast
import inspect
import json
import typing
from pathlib import Path

import numpy as np
import pytest
import toy_reader
from PIL import Image

from aqqua_packer.cli import main
from aqqua_packer.package.read import open_package
from aqqua_packer.progress import Task
from aqqua_packer.sources import registry
from aqqua_packer.sources.base import Detection, Scan
from aqqua_packer.sources.reader import Reader

SOURCES = Path(registry.__file__).parent


def _hints(fn) -> dict[str, object]:
    return typing.get_type_hints(fn)


def _breaches(module) -> list[str]:
    """How ``module`` departs from ``Reader``: missing functions, other leading parameters,
    extra parameters without defaults, other annotated types."""
    out = []
    if not isinstance(module, Reader):
        return ["no detect() or no scan()"]
    for fn, params, returns in (
        ("detect", ["path"], Detection),
        ("scan", ["path", "task"], list[Scan]),
    ):
        f = getattr(module, fn)
        sig = inspect.signature(f)
        leading = [
            p.name
            for p in sig.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        if leading[: len(params)] != params:
            out.append(f"{fn}{sig}: does not start with {params}")
        if any(p.default is p.empty for p in sig.parameters.values() if p.name not in params):
            out.append(f"{fn}{sig}: a parameter beyond {params} has no default")
        hints = _hints(f)
        want = {"return": returns, "path": Path, **({"task": Task} if "task" in params else {})}
        out += [
            f"{fn}: {k} is {hints.get(k)}, not {t}" for k, t in want.items() if hints.get(k) != t
        ]
    return out


@pytest.mark.parametrize("name", registry.READERS)
def test_every_registered_reader_has_detect_and_scan_with_the_contracts_signatures(name):
    assert _breaches(registry.reader(name)) == []


def test_a_reader_whose_scan_takes_no_task_breaks_the_contract():
    class NoTask:
        def detect(self, path: Path) -> Detection: ...

        def scan(self, path: Path, table: Path) -> list[Scan]: ...

    assert _breaches(NoTask()) == [
        "scan(path: 'Path', table: 'Path') -> 'list[Scan]': does not start with ['path', 'task']",
        "scan(path: 'Path', table: 'Path') -> 'list[Scan]': a parameter beyond ['path', 'task'] has no default",
        "scan: task is None, not <class 'aqqua_packer.progress.Task'>",
    ]
    assert _breaches(object()) == ["no detect() or no scan()"]


def test_the_protocol_itself_says_detect_path_and_scan_path_task():
    assert list(inspect.signature(Reader.detect).parameters) == ["self", "path"]
    assert list(inspect.signature(Reader.scan).parameters) == ["self", "path", "task"]
    assert _hints(Reader.scan)["return"] == list[Scan]


def _imported_modules(path: Path) -> set[str]:
    """The sibling modules a module under sources/ imports (``from .x import``, ``from . import x``)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                out.add(node.module.split(".")[0])
            else:
                out.update(a.name for a in node.names)
    return out


@pytest.mark.parametrize("name", registry.READERS)
def test_no_reader_imports_another_reader(name):
    others = set(registry.READERS) - {name}
    assert _imported_modules(SOURCES / f"{name}.py") & others == set()


def test_no_module_in_sources_is_over_700_lines():
    long = {p.name: n for p in SOURCES.glob("*.py") if (n := len(p.read_text().splitlines())) > 700}
    assert long == {}


# --- a toy instrument, end to end ---------------------------------------------------------------
def _toycam_folder(root: Path) -> Path:
    root.mkdir()
    lines = ["# pixel_um=2.5", "image;time;lat;lon;depth_m"]
    for i in range(3):
        Image.fromarray(np.full((6, 8), 40 * i, dtype=np.uint8)).save(root / f"toy_{i}.png")
        lines.append(f"toy_{i}.png;2024-05-0{i + 1}T10:00:00;54.{i};7.0;{i + 2}")  # German Bight
    (root / toy_reader.LOG).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture
def toycam():
    """The toy reader, registered for this test only: one line, undone when the test ends."""
    with registry.registered("toycam", toy_reader):
        yield
    assert "toycam" not in registry.READERS


def test_a_reader_added_in_one_module_and_one_line_scans_checks_packs_and_verifies(
    toycam, tmp_path, capsys
):
    src = _toycam_folder(tmp_path / "cruise7")
    assert main(["scan", str(src), "--json"]) == 0
    [part] = json.loads(capsys.readouterr().out)["parts"]
    assert (part["kind"], part["images"]["count"], part["rows"]) == ("toycam", 3, 3)

    assert main(["check", str(src), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["ready"], report["problems"]) == (3, []), report

    out = tmp_path / "pkg"
    assert main(["pack", str(src), "--out", str(out), "--workers", "1"]) == 0
    assert main(["verify", str(out)]) == 0
    with open_package(out) as pkg:
        assert len(pkg) == 3
        meta = pkg.meta.sort_values("image-filename")
        assert meta["image-latitude"].tolist() == [54.0, 54.1, 54.2]
        assert meta["image-altitude-meters"].tolist() == [-2.0, -3.0, -4.0]
        assert meta["image-pixel-size-micrometers"].eq(2.5).all()
        for arr, rec in pkg:
            i = int(rec["image-filename"][4])
            assert np.array_equal(arr, np.full((6, 8), 40 * i, dtype=np.uint8))


def test_a_registered_reader_is_gone_once_its_block_ends(tmp_path):
    src = _toycam_folder(tmp_path / "cruise8")
    with registry.registered("toycam", toy_reader):
        assert registry.detect_all(src)[0][0] == "toycam"
    assert "toycam" not in registry.READERS
    assert registry.scan_path(src)[0].kind == "generic"
