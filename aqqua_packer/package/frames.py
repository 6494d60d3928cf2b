"""Build the blosc2 frame of one image: the exact bytes ``blosc2.asarray(...).to_cframe()`` gives,
without its per-call Python overhead.

Why: for a typical plankton vignette, compressing the pixels takes ~0.3 ms but building the NDArray
and its frame through the Python API costs another ~0.8 ms, more than decoding the PNG.  A frame
of one chunk holding one block is a fixed header, the compressed chunk and a fixed tail; every
shape-dependent field in the header has a fixed width.  So we let blosc2 build one *template*
frame per (ndim, dtype, codec, meta layout), locate its shape fields, and thereafter splice: patch
the numbers, copy the chunk from ``blosc2.compress2``.  Every template is checked once against a
frame blosc2 builds itself for a second shape; if they differ, or a chunk is a "special" (run-
length) chunk, or the image is too large for one block, we fall back to blosc2's own path.
``tests/package/test_frames.py`` checks byte equality over many shapes and dtypes.
"""

from __future__ import annotations

import struct
import uuid as _uuid
from dataclasses import dataclass

import numpy as np


class _Blosc2OnFirstUse:
    """blosc2 pulls in ~0.4 s of modules (httpx, rich, asyncio): import it when a frame is first
    built or read, not whenever this module is (the packing main process only stores frames)."""

    def __getattr__(self, name: str):
        import blosc2 as module

        globals()["blosc2"] = module
        return getattr(module, name)


blosc2 = _Blosc2OnFirstUse()

# Codec choice, measured (docs/format.md, "Codec"; tests/bench/bench_codecs.py): per level of
# compression and bytes per pixel, (codec, clevel, filters).  Only blosc2's built-in codecs and
# filters, so that any blosc2 >= 4.0 opens every package.  For 8-bit pixels blosc2's DELTA filter
# (in a one-block chunk: each byte XOR the byte before it) stores plankton vignettes 12-15 % smaller
# than bit-shuffle at the same speed; 16-bit pixels compress best with byte-shuffle.
COMPRESSION: dict[str, dict[int, tuple[str, int, tuple[str, ...]]]] = {
    "fast": {1: ("ZSTD", 1, ("BITSHUFFLE",)), 2: ("ZSTD", 1, ("SHUFFLE",))},
    "balanced": {1: ("ZSTD", 1, ("DELTA",)), 2: ("ZSTD", 1, ("SHUFFLE",))},
    "small": {1: ("ZSTD", 9, ("DELTA",)), 2: ("ZSTD", 5, ("SHUFFLE",))},
}
DEFAULT_COMPRESSION = "balanced"

# Row prediction (docs/format.md, "Codec"): with blosc2's SHUFFLE at a typesize of one image row
# (its bytes), byte k of every row lands in one stream, and BYTEDELTA then stores each byte as its
# difference from the byte above it: PNG's "Up" filter, from built-in filters only.  blosc2 keeps a
# chunk's typesize in one byte, so 8-bit rows of at most 255 pixels (most plankton vignettes);
# wider images, and 16-bit ones (byte-shuffle by item stores them 40 % smaller than rows do), use
# the level's own filters above.  Measured on narrow images: 8 % smaller than DELTA on
# the small vignettes, 16 % on JPEG crops of PlanktoScope size, and faster.  Only the chunk
# carries these settings (its own header, which every blosc2 >= 4.0 decompresses by), so the
# frame is not one blosc2's NDArray API would build (it forces typesize = item size): the frames
# are checked pixel-exact against blosc2 4.0.0 instead (tests/compat).  Per level, the ZSTD
# clevels tried; the smallest result is kept.
ROW_PREDICTION: dict[str, tuple[int, ...]] = {"balanced": (1,), "small": (1, 5)}
MAX_ROW_BYTES = 255
MAX_SINGLE_BLOCK = 16 * 2**20  # larger images use blosc2's own chunking (several threads' worth)
_PLACEHOLDER_UUID = "00000000-0000-4000-8000-00000000a9a9"


def cparams_for(dtype: np.dtype, compression: str = DEFAULT_COMPRESSION) -> dict:
    """blosc2 cparams for pixels of ``dtype`` at a level of ``COMPRESSION``."""
    per_size = COMPRESSION[compression]
    codec, clevel, filters = per_size[min(np.dtype(dtype).itemsize, max(per_size))]
    return {
        "codec": blosc2.Codec[codec],
        "clevel": clevel,
        "filters": [blosc2.Filter[f] for f in filters],
        "filters_meta": [0] * len(filters),
        "nthreads": 1,
    }


def reference_frame(arr: np.ndarray, meta: dict, compression: str = DEFAULT_COMPRESSION) -> bytes:
    """The frame as blosc2's public API builds it (the slow path, and the definition of 'right')."""
    if arr.nbytes <= MAX_SINGLE_BLOCK and arr.size:
        return blosc2.asarray(
            arr,
            chunks=arr.shape,
            blocks=arr.shape,
            cparams=cparams_for(arr.dtype, compression),
            meta=meta,
        ).to_cframe()
    return blosc2.asarray(arr, cparams=cparams_for(arr.dtype, compression), meta=meta).to_cframe()


@dataclass
class _Template:
    head: bytearray  # header bytes, with placeholders
    tail: bytes  # index chunk + trailer
    shape_at: list[int]  # offsets of the int64 shape fields
    chunk_at: list[int]  # offsets of int32 chunkshape fields
    block_at: list[int]  # offsets of int32 blockshape fields
    nbytes_at: int
    cbytes_at: int
    blocksize_at: int
    chunksize_at: int
    uuid_at: int


def _find_all(buf: bytes, pat: bytes) -> list[int]:
    out, i = [], buf.find(pat)
    while i >= 0:
        out.append(i)
        i = buf.find(pat, i + 1)
    return out


def _probe_array(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    rng = np.random.default_rng(sum(shape))
    return rng.integers(0, 200, size=shape).astype(dtype)


def _build_template(ndim: int, dtype: np.dtype, meta_rest: dict, compression: str) -> _Template | None:
    # Odd sizes that cannot be confused with other header bytes.
    shape = (3, 1117, 1013)[-ndim:] if ndim == 3 else (1117, 1013)[:ndim]
    arr = _probe_array(shape, dtype)
    meta = {"image-uuid": _PLACEHOLDER_UUID, **meta_rest}
    frame = reference_frame(arr, meta, compression)
    chunk = blosc2.compress2(arr, **_compress_kwargs(arr, compression))
    start = frame.find(chunk)
    if start < 0:
        return None
    head, tail = bytearray(frame[:start]), frame[start + len(chunk) :]
    shape_at = [head.find(b"\xd3" + struct.pack(">q", s)) for s in shape]
    dims_at = [_find_all(bytes(head), b"\xd2" + struct.pack(">i", s)) for s in shape]
    nbytes_at = _find_all(bytes(head), b"\xd3" + struct.pack(">q", arr.nbytes))
    cbytes_at = _find_all(bytes(head), b"\xd3" + struct.pack(">q", len(chunk)))
    size32_at = _find_all(bytes(head), b"\xd2" + struct.pack(">i", arr.nbytes))
    uuid_at = head.find(_PLACEHOLDER_UUID.encode())
    if (
        min(shape_at) < 0
        or any(len(d) != 2 for d in dims_at)
        or len(nbytes_at) != 1
        or len(cbytes_at) != 1
        or len(size32_at) != 2
        or uuid_at < 0
    ):
        return None
    tpl = _Template(
        head=head,
        tail=tail,
        shape_at=[i + 1 for i in shape_at],
        chunk_at=[d[0] + 1 for d in dims_at],
        block_at=[d[1] + 1 for d in dims_at],
        nbytes_at=nbytes_at[0] + 1,
        cbytes_at=cbytes_at[0] + 1,
        blocksize_at=size32_at[0] + 1,
        chunksize_at=size32_at[1] + 1,
        uuid_at=uuid_at,
    )
    # Self-check on a second, different shape.
    shape2 = (2, 61, 47)[-ndim:] if ndim == 3 else (61, 47)[:ndim]
    arr2 = _probe_array(shape2, dtype)
    uid = str(_uuid.UUID(int=12345, version=4))
    want = reference_frame(arr2, {"image-uuid": uid, **meta_rest}, compression)
    got = _splice(tpl, arr2, uid, blosc2.compress2(arr2, **_compress_kwargs(arr2, compression)))
    return tpl if got == want else None


def _compress_kwargs(arr: np.ndarray, compression: str) -> dict:
    cp = cparams_for(arr.dtype, compression)
    return {
        "codec": cp["codec"],
        "clevel": cp["clevel"],
        "filters": cp["filters"],
        "filters_meta": cp["filters_meta"],
        "typesize": arr.itemsize,
        "nthreads": 1,
        "blocksize": arr.nbytes,
    }


def row_predicted(arr: np.ndarray, compression: str) -> bool:
    """Is ``arr`` stored with row prediction at this level?"""
    row = arr.shape[-1]
    return (
        compression in ROW_PREDICTION
        and arr.itemsize == 1  # 16-bit pixels: byte-shuffle by item is 40 % smaller (micro16)
        and 2 <= row <= MAX_ROW_BYTES
        and arr.ndim >= 2
    )


def _row_chunk(arr: np.ndarray, compression: str) -> bytes:
    row = arr.shape[-1] * arr.itemsize
    best = b""
    for clevel in ROW_PREDICTION[compression]:
        chunk = blosc2.compress2(
            arr,
            codec=blosc2.Codec.ZSTD,
            clevel=clevel,
            filters=[blosc2.Filter.SHUFFLE, blosc2.Filter.BYTEDELTA],
            filters_meta=[0, 0],
            typesize=row,
            nthreads=1,
            blocksize=arr.nbytes,
        )
        if not best or len(chunk) < len(best):
            best = chunk
    return best


def _splice(tpl: _Template, arr: np.ndarray, uid: str, chunk: bytes) -> bytes:
    head = bytearray(tpl.head)
    for at, s in zip(tpl.shape_at, arr.shape, strict=True):
        head[at : at + 8] = struct.pack(">q", s)
    for at, s in zip(tpl.chunk_at, arr.shape, strict=True):
        head[at : at + 4] = struct.pack(">i", s)
    for at, s in zip(tpl.block_at, arr.shape, strict=True):
        head[at : at + 4] = struct.pack(">i", s)
    head[tpl.nbytes_at : tpl.nbytes_at + 8] = struct.pack(">q", arr.nbytes)
    head[tpl.cbytes_at : tpl.cbytes_at + 8] = struct.pack(">q", len(chunk))
    head[tpl.blocksize_at : tpl.blocksize_at + 4] = struct.pack(">i", arr.nbytes)
    head[tpl.chunksize_at : tpl.chunksize_at + 4] = struct.pack(">i", arr.nbytes)
    head[tpl.uuid_at : tpl.uuid_at + 36] = uid.encode("ascii")
    total = len(head) + len(chunk) + len(tpl.tail)
    head[16:24] = struct.pack(">q", total)  # frame length, right after magic + header length
    return bytes(head) + chunk + tpl.tail


_templates: dict[tuple, _Template | None] = {}


def encode(
    arr: np.ndarray,
    uid: str,
    meta_rest: dict | None = None,
    compression: str = DEFAULT_COMPRESSION,
    rows: bool = True,
) -> bytes:
    """The blosc2 frame of ``arr`` with meta ``{"image-uuid": uid, **meta_rest}``.

    ``uid`` must be a canonical 36-character uuid string.  Byte-identical to ``reference_frame``,
    except that the chunk of an image with narrow rows is row-predicted (``row_predicted``;
    ``rows=False`` turns that off).
    """
    meta_rest = meta_rest or {}
    if (
        len(uid) != 36
        or arr.nbytes > MAX_SINGLE_BLOCK
        or arr.size == 0
        or not arr.flags.c_contiguous
    ):
        return reference_frame(np.ascontiguousarray(arr), {"image-uuid": uid, **meta_rest}, compression)
    key = (arr.ndim, arr.dtype.str, compression, repr(sorted(meta_rest.items())))
    if key not in _templates:
        _templates[key] = _build_template(arr.ndim, arr.dtype, meta_rest, compression)
    tpl = _templates[key]
    if tpl is None:
        return reference_frame(arr, {"image-uuid": uid, **meta_rest}, compression)
    if rows and row_predicted(arr, compression):
        chunk = _row_chunk(arr, compression)
    else:
        chunk = blosc2.compress2(arr, **_compress_kwargs(arr, compression))
    if len(chunk) < 32 or (chunk[31] >> 4) & 0x7 or chunk[31] & 0x1:
        # special-value chunk (all zeros, one repeated value, ...) or lazy chunk: blosc2's path
        return reference_frame(arr, {"image-uuid": uid, **meta_rest}, compression)
    return _splice(tpl, arr, uid, chunk)


def decode(frame: bytes) -> tuple[np.ndarray, dict]:
    """Array and per-image meta (without blosc2's own b2nd layer) from one stored value."""
    nd = blosc2.ndarray_from_cframe(frame, True)
    meta = {k: nd.schunk.meta[k] for k in nd.schunk.meta.keys() if k not in ("b2nd", "b2frame")}
    return nd[()], meta
