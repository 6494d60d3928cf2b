"""A lab's disk made of the shared instrument fixtures, for the inventory's tests (CLI and GUI)."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = Path(os.environ.get("AQQUA_SHARED_FIXTURES", ROOT.parent / "shared" / "fixtures"))


def make_tree(root: Path, fixtures: Path = SHARED_FIXTURES) -> Path:
    """Each fixture in its own sub-folder, some two levels down, the ZooScan export zipped, and a
    broken zip (cut off, so it has no central directory)."""
    (root / "2013").mkdir(parents=True)
    shutil.copytree(fixtures / "ifcb", root / "2013" / "ifcb-day")  # two levels down
    shutil.copytree(fixtures / "flowcam", root / "lab" / "flowcam")  # two levels down
    shutil.copytree(fixtures / "microscopy", root / "lab" / "microscopy")
    shutil.copytree(fixtures / "uvp6", root / "uvp6")  # one level down; a UVPapp zip inside
    zipped = root / "cruises" / "m106"  # the ZooScan export as a zip, two levels down
    zipped.mkdir(parents=True)
    src = fixtures / "zooscan" / "m106_mn01_n1_sml"
    with zipfile.ZipFile(zipped / "m106_mn01_n1_sml.zip", "w") as zf:
        for f in sorted(src.iterdir()):
            zf.write(f, f"m106_mn01_n1_sml/{f.name}")
    (root / "broken").mkdir()
    data = (zipped / "m106_mn01_n1_sml.zip").read_bytes()
    (root / "broken" / "export.zip").write_bytes(data[: len(data) // 3])
    return root
