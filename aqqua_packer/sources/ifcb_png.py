"""ROI PNGs exported from IFCB bins, often sorted into class folders, beside (or instead of) bins.

People export ROIs as ``<bin>_<target>.png`` (ifcb-analysis' ``export_png_from_ROIlist``, the IFCB
dashboard's zip of a bin's images, pyifcb's ``Bin.images`` saved one by one, classifiers' training
sets) into folders named by class: ``png/Cryptomonadales/D20230810T113059_IFCB134_04108.png``.
The name gives the bin (so its UTC time and instrument) and the target number (the ``.adc`` line);
the folder gives the class someone put it in.

- A PNG of a ROI its bin's ``.roi`` still holds is a copy: it is set aside, named with the ROI
  packed instead; its class folder becomes that ROI's ``ifcb:class_folder``.
- A PNG whose bin has no ``.roi`` (or whose target the ``.roi`` lacks) is the only copy: it is
  offered as an image, on its ``.adc`` row when the bin's ``.adc`` is there, else on a row of its
  own made from its name and, when present, the bin's ``.hdr`` (``hdr:gpsLatitude``, ...).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..problems import Problem
from ..progress import Task
from . import listing
from .base import ROW_COL, TABLE_COL, ImageRef, SetAside
from .tables import decode_text

PNG_NAME = re.compile(
    r"^(?P<bin>D\d{8}T\d{6}_IFCB\d+|IFCB\d+_\d{4}_\d{3}_\d{6})_(?P<roi>\d{1,6})\.png$", re.I
)
CLASS_COLUMN = "ifcb:class_folder"
# Folders that hold exported PNGs but name no class.
NOT_A_CLASS = {"png", "pngs", "images", "image", "imgs", "rois", "roi", "export", "exports", "data"}


@dataclass
class Png:
    path: str
    bin: str
    roi: int
    label: str  # the class folder's name, or "" when the folder names no class

    @property
    def target(self) -> str:
        return f"{self.bin}_{self.roi:05d}"


def find_pngs(path: Path, task: Task) -> list[Png]:
    """Every PNG below ``path`` named ``<bin>_<target>.png``, with the class its folder names."""
    from .ifcb import _TREE_DIR, bin_time

    out: list[Png] = []
    root = os.path.normpath(str(path))
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        task.check()
        folder = os.path.basename(dirpath)
        is_class = (
            os.path.normpath(dirpath) != root
            and folder.lower() not in NOT_A_CLASS
            and not _TREE_DIR.match(folder)
            and bin_time(folder) is None
        )
        for f in sorted(filenames):
            m = PNG_NAME.match(f)
            if m and bin_time(m["bin"]) is not None:
                out.append(
                    Png(
                        os.path.join(dirpath, f),
                        m["bin"],
                        int(m["roi"]),
                        folder if is_class else "",
                    )
                )
    return out


def has_pngs(path: Path, limit: int = 5000) -> str | None:
    """The first IFCB ROI PNG within three folder levels (at most ``limit`` entries looked at)."""
    level, seen = [str(path)], 0
    for _ in range(4):
        nxt = []
        for d in level:
            try:
                for e in listing.entries(d):
                    seen += 1
                    if seen > limit:
                        return None
                    if e.name.startswith("."):
                        continue
                    if PNG_NAME.match(e.name):
                        return os.path.relpath(e.path, path)
                    if e.is_dir(follow_symlinks=False):
                        nxt.append(e.path)
            except OSError:
                continue
        level = sorted(nxt)
    return None


@dataclass
class Group:
    """One instrument's part as ``ifcb.scan`` builds it."""

    frames: list[pd.DataFrame]
    images: list[ImageRef]
    problems: list[Problem]
    set_aside: list[SetAside] = field(default_factory=list)
    labels: dict[int, str] = field(default_factory=dict)  # row position -> class folder


def attach(
    pngs: list[Png],
    bins: dict[str, dict[str, str]],
    placed: dict[str, tuple[int, pd.DataFrame]],
    groups: dict[str, Group],
    root: Path,
) -> None:
    """Set aside the PNG copies of ROIs in a ``.roi``; offer the others as images (see above)."""
    from .ifcb import _rel, bin_time, parse_hdr

    by_target: dict[str, tuple[str, ImageRef]] = {}
    for inst, g in groups.items():
        for im in g.images:
            by_target[im.name] = (inst, im)
    offered: dict[str, int] = {}
    hdr_cache: dict[str, dict[str, str]] = {}
    for png in pngs:
        when, inst = bin_time(png.bin)  # type: ignore[misc]
        hit = by_target.get(png.target)
        if hit is not None and not hit[1].path.lower().endswith(".png"):
            g = groups[hit[0]]
            g.set_aside.append(
                SetAside(
                    png.path,
                    f"an exported PNG copy of ROI {png.target}, which is cut from {png.bin}.roi",
                    kept=png.target,
                )
            )
            if png.label and hit[1].row is not None:
                g.labels.setdefault(hit[1].row, png.label)
            continue
        g = groups.setdefault(inst, Group([], [], []))
        if hit is not None:  # the same ROI exported twice (two class folders): keep the first
            g.set_aside.append(
                SetAside(png.path, f"another PNG of ROI {png.target}", kept=hit[1].path)
            )
            continue
        row = None
        if png.bin in placed:
            offset, df = placed[png.bin]
            match = df.index[df["ifcb:roi_number"] == str(png.roi)]
            if len(match):
                row = offset + int(match[0])
        if row is None:
            files = bins.get(png.bin, {})
            hdr_path = files.get(".hdr")
            if hdr_path and hdr_path not in hdr_cache:
                try:
                    hdr_cache[hdr_path] = parse_hdr(
                        decode_text(Path(hdr_path).read_bytes(), hdr_path)
                    )
                except OSError:
                    hdr_cache[hdr_path] = {}
            hdr = hdr_cache.get(hdr_path, {}) if hdr_path else {}
            rec = {
                "ifcb:bin": png.bin,
                "ifcb:roi_number": str(png.roi),
                "ifcb:datetime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "ifcb:instrument": inst,
                **{f"hdr:{k}": v for k, v in hdr.items()},
                TABLE_COL: _rel(png.path, root),
                ROW_COL: 1,
            }
            row = sum(len(f) for f in g.frames)
            g.frames.append(pd.DataFrame([rec], dtype=object))
        ref = ImageRef(name=png.target, path=png.path, row=row, size=_size(png.path))
        g.images.append(ref)
        by_target[png.target] = (inst, ref)
        if png.label:
            g.labels[row] = png.label
        offered[png.bin] = offered.get(png.bin, 0) + 1
    # A bin whose .roi is gone but whose PNGs are here: its images are not lost after all.
    for g in groups.values():
        g.problems[:] = [_softened(p, offered) for p in g.problems]


def _softened(p: Problem, offered: dict[str, int]) -> Problem:
    m = re.match(r"the \.roi file of bin (\S+) is missing", p.message)
    if m and m.group(1) in offered:
        return Problem(
            p.kind,
            f"the .roi file of bin {m.group(1)} is missing: its {offered[m.group(1)]} exported "
            "PNG(s) are packed instead; ROIs without a PNG cannot be read",
            file=p.file,
            severity="warning",
        )
    return p


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
