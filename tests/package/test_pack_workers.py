"""Worker processes: how they start, from the CLI and from a user's own script."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types

from pkgtools import MAPS, ROOT, cli, plankton_dataset

from aqqua_packer import open_package
from aqqua_packer.package.pool import main_is_guarded as _main_is_guarded


def test_a_script_without_a_main_guard_can_call_pack_with_several_workers(tmp_path):
    """Forkserver children import the main script again; an unguarded script must not be run
    twice (it gets fork), and its pack must come out whole."""
    src = plankton_dataset(tmp_path / "src", 40, seed=5)
    script = tmp_path / "cruise_pack.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from pathlib import Path
            from aqqua_packer.package.write import PackOptions
            from aqqua_packer.workflow import Request, pack
            print("script body ran")
            r = pack(Request([Path({str(src)!r})], maps={MAPS!r}), Path({str(tmp_path / "out")!r}),
                     options=PackOptions(workers=2))
            print("packed", r.images)
            """
        ),
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, env=env
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.count("script body ran") == 1
    assert "packed 40" in run.stdout
    with open_package(tmp_path / "out") as pkg:
        assert len(pkg) == 40
    assert cli("verify", str(tmp_path / "out")).returncode == 0


def test_which_main_modules_may_be_imported_again():
    script = types.SimpleNamespace(__spec__=None, __file__="/home/lab/cruise_pack.py")
    assert not _main_is_guarded(script)
    assert _main_is_guarded(types.SimpleNamespace(__spec__=object(), __file__="/x/__main__.py"))
    assert _main_is_guarded(types.SimpleNamespace(__spec__=None, __file__="/usr/bin/aqqua-packer"))
    assert _main_is_guarded(types.SimpleNamespace(__spec__=None))  # interactive
