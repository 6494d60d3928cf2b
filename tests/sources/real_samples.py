"""Where the real instrument samples of ../shared/fixtures-real are, and how tests read them.

Every test on them goes the user's way: ``workflow.check`` (scan, suggested mapping, conversion)
and reads the converted (iFDO) columns.  Tests skip where ../shared is absent.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from aqqua_packer import workflow

ROOT = Path(__file__).resolve().parents[2]
REAL = Path(os.environ.get("AQQUA_REAL_FIXTURES", ROOT.parent / "shared" / "fixtures-real"))


def real(name: str) -> Path:
    """The real sample ``name`` (read only); skips the test where it is absent."""
    p = REAL / name
    if not p.exists():
        pytest.skip(f"absent: ../shared/fixtures-real/{name} is not present")
    return p


def copy_of(name: str, dest: Path) -> Path:
    """A writable copy of a real sample (to add the stand-in images upstream left out)."""
    src = real(name)
    shutil.copytree(src, dest) if src.is_dir() else shutil.copy2(src, dest)
    return dest


def checked(
    *sources: Path, sets: tuple[str, ...] = (), accept: tuple[str, ...] = ()
) -> tuple[workflow.Mapped, pd.DataFrame]:
    """``check`` as the CLI runs it (``accept``: --accept); the converted rows by image name."""
    m = workflow.check(
        workflow.Request(sources=list(sources), sets=list(sets), accept=list(accept))
    )
    return m, m.converted.set_index("image-filename")


def columns_used(m: workflow.Mapped) -> dict[str, str | None]:
    """Field -> the column the effective mapping takes it from."""
    return {k: v.column for k, v in m.mapping.fields.items()}
