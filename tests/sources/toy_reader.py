"""A reader for an instrument that does not exist, written as a newcomer would write a real one:
one module with ``detect`` and ``scan`` (the ``Reader`` protocol), using the shared helpers.

The "ToyCam" leaves a folder of PNG images and ``toycam.log``: ``;``-separated, one line per
image (``image;time;lat;lon;depth_m``), time in UTC as ``YYYY-MM-DDTHH:MM:SS``, and its pixel
size in the first line, ``# pixel_um=2.5``.  ``tests/sources/test_reader_contract.py`` registers
it for one test (``registry.registered("toycam", toy_reader)``) and runs it end to end.
"""

from __future__ import annotations

from pathlib import Path

from aqqua_packer.problems import Problem, UserError
from aqqua_packer.progress import Task
from aqqua_packer.sources.base import Detection, ImageRef, Scan
from aqqua_packer.sources.reader import add_header_columns, finish_scan
from aqqua_packer.sources.suggested import col, samples, spec
from aqqua_packer.sources.tables import decode_text, read_text_table

KIND = "toycam"
LOG = "toycam.log"


def detect(path: Path) -> Detection:
    if Path(path, LOG).is_file():
        return Detection(0.9, f"{LOG} is a ToyCam log")
    return Detection(0.0, f"no {LOG}")


def scan(path: Path, task: Task) -> list[Scan]:
    path = Path(path)
    task.start("scan", None, unit="files", message=f"Reading the ToyCam folder {path}")
    s = Scan(KIND, path, label=f"ToyCam {path.name}", sensor="ToyCam")
    text = decode_text((path / LOG).read_bytes(), str(path / LOG))
    first, _, table = text.partition("\n")
    try:
        rows = read_text_table(table, LOG, delimiter=";")
    except UserError as exc:
        s.problems.append(Problem("bad_table", str(exc), file=str(path / LOG)))
        return finish_scan(task, s)
    rows = add_header_columns(rows, {"pixel_um": first.partition("=")[2].strip()})
    images = []
    for pos, name in enumerate(rows["image"]):
        f = path / name
        if f.is_file():
            images.append(ImageRef(name=name, path=str(f), row=pos, size=f.stat().st_size))
        else:
            s.problems.append(
                Problem("row_without_image", f"no image {name}", file=LOG, row=pos + 2)
            )
    s.images, s.rows = images, rows
    fields = {
        name: spec(c, f"ToyCam log {c}: {', '.join(samples(rows, c))}", **kw)
        for name, c, kw in (
            ("datetime", col(rows, "time"), {"format": "%Y-%m-%dT%H:%M:%S"}),
            ("latitude", col(rows, "lat"), {}),
            ("longitude", col(rows, "lon"), {}),
            ("depth", col(rows, "depth_m"), {"unit": "m"}),
            ("pixel_size", col(rows, "hdr:pixel_um"), {"unit": "um"}),
        )
        if c
    }
    fields["timezone"] = {"constant": "UTC", "confidence": 0.9, "reason": "the ToyCam logs UTC"}
    s.suggested = {"fields": fields}
    return finish_scan(task, s)
