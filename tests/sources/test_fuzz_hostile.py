"""Fuzzing the way in (issue 15): random file names (any bytes), damaged tables (quotes, mixed
encodings, NULs, repeated column names, ragged rows) and truncated real images.  Whatever the
input, check and pack end without an internal error, and every image file is either packed or
named in a problem."""

from __future__ import annotations

import csv
import io
import itertools
import os
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from aqqua_packer import workflow
from aqqua_packer.package.write import PackOptions
from aqqua_packer.problems import UserError, shown
from aqqua_packer.sources.base import image_name

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
SETS = [
    "datetime=2020-01-01T00:00:00Z",
    "latitude=1",
    "longitude=2",
    "altitude=-3",
    "pixel_size=1",
]


def _encoded(fmt: str) -> bytes:
    y, x = np.mgrid[0:24, 0:32]
    arr = ((x * 7 + y * 3) % 256).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt)
    return buf.getvalue()


def _sources() -> list[tuple[str, bytes]]:
    """(suffix, bytes) of whole images: small generated ones, and real instrument images."""
    out = [(".png", _encoded("PNG")), (".jpg", _encoded("JPEG")), (".tif", _encoded("TIFF"))]
    if SHARED.is_dir():
        real = sorted(
            p
            for p in SHARED.rglob("*")
            if p.suffix.lower() in (".png", ".jpg", ".tif") and p.stat().st_size < 300_000
        )
        out += [(p.suffix.lower(), p.read_bytes()) for p in real[:6]]
    return out


SOURCES = _sources()
_COUNTER = itertools.count()

name_bytes = st.binary(min_size=1, max_size=10).map(
    lambda b: b.replace(b"/", b"_").replace(b"\0", b"_").lstrip(b".") or b"x"
)
image_spec = st.tuples(
    name_bytes,
    st.integers(0, len(SOURCES) - 1),
    st.one_of(st.none(), st.floats(0.0, 1.0)),  # None: whole; else the fraction kept
)
damage = st.lists(
    st.sampled_from(["quote", "latin1", "nul", "dup_header", "short_row", "long_row", "blank"]),
    max_size=4,
)


def _table(names: list[str], ops: list[str], rnd) -> bytes:
    header = ["image", "label", "lat"]
    if "dup_header" in ops:
        header.append("lat")
    rows = [
        [n, "Ostracodé", str(10 + i)] + (["99"] if "dup_header" in ops else [])
        for i, n in enumerate(names)
    ]
    lines = [",".join(header).encode()] + [
        ",".join(r).encode("utf-8", "surrogateescape") for r in rows
    ]
    for op in ops:
        k = rnd.draw(st.integers(1, max(1, len(lines) - 1))) if len(lines) > 1 else 0
        if k >= len(lines):
            continue
        if op == "quote":
            lines[k] = lines[k].replace(b",", b',"', 1)
        elif op == "latin1":
            lines[k] = lines[k].replace("é".encode(), "é".encode("latin-1"))
        elif op == "nul":
            lines[k] += b"\0"
        elif op == "short_row":
            lines[k] = lines[k].rsplit(b",", 1)[0]
        elif op == "long_row":
            lines[k] += b",extra"
        elif op == "blank":
            lines.insert(k, b"")
    return b"\n".join(lines) + b"\n"


@settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(images=st.lists(image_spec, min_size=1, max_size=4), ops=damage, rnd=st.data())
def test_no_input_gives_an_internal_error_and_every_image_is_packed_or_named(
    tmp_path, images, ops, rnd
):
    src = tmp_path / f"case{next(_COUNTER)}"
    src.mkdir()
    written: list[str] = []  # names as Python sees them (surrogate escapes kept)
    for raw, which, keep in images:
        suffix, data = SOURCES[which]
        if keep is not None:
            data = data[: int(len(data) * keep)]
        fname = raw + suffix.encode()
        path = os.fsencode(src) + b"/" + fname
        if os.path.exists(path):
            continue
        with open(path, "wb") as fh:
            fh.write(data)
        written.append(os.fsdecode(fname))
    (src / "data.csv").write_bytes(_table(written, ops, rnd))

    request = workflow.Request(sources=[src], sets=SETS)
    try:
        mapped = workflow.check(request)
    except UserError:
        return  # a message for the user, not an internal error
    names = {mapped.items.name(i) for i in range(len(mapped.items))}
    said = " ".join(f"{p.file} {p.message} {p.value}" for p in mapped.problems)
    for w in written:
        assert image_name(w) in names or shown(w) in said, (w, sorted(names), said)

    try:
        result = workflow.pack(
            request,
            tmp_path / f"out{next(_COUNTER)}",
            options=PackOptions(workers=1, skip_incomplete=True),
            mapped=mapped,
        )
    except UserError:
        return
    packed = result.images
    listed = 0
    if result.skipped_file:
        text = result.skipped_file.read_bytes().decode("utf-8")  # valid UTF-8 whatever the names
        listed = len(list(csv.DictReader(io.StringIO(text))))
    assert packed + listed == len(mapped.items)
