"""Decode the pixels an ``ImageRef`` points at, losslessly, into the array layout AqQua stores.

Layout: 2-D ``(Y, X)`` for one channel, 3-D channels-first ``(C, Y, X)`` otherwise; dtype uint8 or
uint16 exactly as stored (JPEG: the decoded pixels).  Palette images become RGB (or RGBA when the
palette has transparency); 1-bit images become uint8 0/255.  Runs in worker processes.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..problems import UserError
from .base import ImageRef, shown

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif"}
TIFF_SUFFIXES = {".tif", ".tiff"}

_CHANNEL_NAMES = {
    1: ["grey"],
    2: ["grey", "alpha"],
    3: ["red", "green", "blue"],
    4: ["red", "green", "blue", "alpha"],
}


@dataclass
class LoadedImage:
    array: np.ndarray  # (Y, X) or (C, Y, X), uint8 or uint16
    channels: list[dict[str, str]]  # [{"name": "red", "kind": "color"}, ...]


_IN_MEMORY = re.compile(r"\s*<_io\.BytesIO object at 0x[0-9a-fA-F]+>")


def error_text(exc: BaseException) -> str:
    """A decoder's error for a message: its type and words, without the ``<_io.BytesIO object
    at 0x…>`` Pillow names when it reads from memory (the message names the file instead)."""
    return f"{type(exc).__name__}: {_IN_MEMORY.sub('', str(exc))}"


def describe(ref: ImageRef) -> str:
    """The image's location in words, for messages: 'a.zip › sub1/x.png (page 2)'."""
    parts = [ref.path, *ref.members]
    text = shown(" › ".join(parts))
    if ref.page:
        text += f" (page {ref.page + 1})"
    if ref.box:
        text += " (box x={} y={} w={} h={})".format(*ref.box)
    if ref.raw:
        text += f" (bytes {ref.raw[0]}..{ref.raw[0] + ref.raw[1] * ref.raw[2]})"
    return text


@lru_cache(maxsize=8)
def _zip(path: str) -> zipfile.ZipFile:
    return zipfile.ZipFile(path)


def read_bytes(ref: ImageRef) -> bytes:
    """The encoded bytes of the file holding the image (following zip members)."""
    if not ref.members:
        return Path(ref.path).read_bytes()
    zf = _zip(ref.path) if len(ref.members) == 1 else _inner_zip(ref.path, ref.members[:-1])
    return zf.read(ref.members[-1])


@lru_cache(maxsize=4)
def _inner_zip(path: str, chain: tuple[str, ...]) -> zipfile.ZipFile:
    """A zip inside a zip (inside …), read into memory once and kept for the images after it:
    re-reading the inner zip for every image would make a large nested export quadratic."""
    zf = _zip(path) if len(chain) == 1 else _inner_zip(path, chain[:-1])
    return zipfile.ZipFile(io.BytesIO(zf.read(chain[-1])))


def _channels(n: int) -> list[dict[str, str]]:
    names = _CHANNEL_NAMES.get(n) or [f"c{i}" for i in range(n)]
    return [{"name": nm, "kind": "alpha" if nm == "alpha" else "color"} for nm in names]


def _normalise(arr: np.ndarray, where: str, channels_last: bool = True) -> np.ndarray:
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    if arr.dtype not in (np.uint8, np.uint16):
        if arr.dtype.kind in "iu" and arr.size and arr.min() >= 0 and arr.max() <= 65535:
            arr = arr.astype(np.uint16)
        else:
            raise UserError(
                f"{where}: pixels of type {arr.dtype} are not supported (only 8- and 16-bit images)"
            )
    if arr.ndim == 3 and channels_last and arr.shape[-1] <= 4 and arr.shape[0] > 4:
        arr = np.moveaxis(arr, -1, 0)
    elif arr.ndim == 3 and channels_last and arr.shape[-1] <= 4 and arr.shape[0] <= 4:
        # Tiny image: trust the decoder's channels-last convention.
        arr = np.moveaxis(arr, -1, 0)
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim not in (2, 3):
        raise UserError(f"{where}: image has {arr.ndim} dimensions {arr.shape}; expected 2 or 3")
    return np.ascontiguousarray(arr)


def _decode_pillow(data: bytes, ref: ImageRef, where: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        im = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:  # its message names a BytesIO object, not the file
        raise UserError(
            f"{where}: cannot read the image (not a PNG, JPEG, TIFF, BMP or GIF Pillow recognises,"
            " or damaged at its start)"
        ) from None
    with im:
        if ref.page:
            im.seek(ref.page)
        mode = im.mode
        if mode == "P" or mode == "PA":
            im = im.convert("RGBA" if ("transparency" in im.info or mode == "PA") else "RGB")
        elif mode == "1":
            im = im.convert("L")
        elif mode == "CMYK" or mode == "YCbCr" or mode == "LAB" or mode == "HSV":
            im = im.convert("RGB")
        elif mode in ("I;16", "I;16B", "I;16L", "I;16N"):
            return np.asarray(im, dtype=np.uint16).copy()
        elif mode == "F":
            raise UserError(
                f"{where}: floating-point images are not supported (only 8- and 16-bit)"
            )
        arr = np.asarray(im)
    return _normalise(arr, where)


def _decode_tiff(data: bytes, ref: ImageRef, where: str) -> np.ndarray:
    import tifffile

    with tifffile.TiffFile(io.BytesIO(data)) as tf:
        page = tf.pages[ref.page or 0]
        try:
            arr = page.asarray()
        except ValueError as exc:
            # LZW/Deflate/... without the optional 'imagecodecs' package: Pillow decodes those.
            if "imagecodecs" in str(exc):
                return _decode_pillow(data, ref, where)
            raise
        photometric = getattr(page, "photometric", None)
        planar = getattr(page, "planarconfig", None)
    if photometric is not None and int(photometric) == 3:  # PALETTE
        return _decode_pillow(data, ref, where)
    channels_last = not (planar is not None and int(planar) == 2)
    return _normalise(arr, where, channels_last=channels_last)


def _decode(ref: ImageRef, where: str) -> np.ndarray:
    data = read_bytes(ref)
    if not data:
        raise UserError(f"{where}: cannot read the image (the file is empty: 0 bytes)")
    name = (ref.members[-1] if ref.members else ref.path).lower()
    if Path(name).suffix in TIFF_SUFFIXES:
        return _decode_tiff(data, ref, where)
    return _decode_pillow(data, ref, where)


def _stamp(path: str) -> tuple[int, int]:
    st = Path(path).stat()
    return st.st_mtime_ns, st.st_size


@lru_cache(maxsize=2)
def _decode_whole(
    path: str, members: tuple[str, ...], page: int | None, stamp: tuple[int, int]
) -> np.ndarray:
    """The whole decoded image a box is cut from, cached by file, member, page and modification."""
    whole = ImageRef(name="", path=path, members=members, page=page)
    arr = _decode(whole, describe(whole))
    arr.setflags(write=False)
    return arr


def load_image(ref: ImageRef) -> LoadedImage:
    """Decode one image; raise ``UserError`` naming the file when it cannot be read."""
    where = describe(ref)
    try:
        if ref.raw is not None:
            offset, width, height = ref.raw
            with open(ref.path, "rb") as fh:
                fh.seek(offset)
                buf = fh.read(width * height)
            if len(buf) != width * height:
                raise UserError(
                    f"{where}: the file ends before this image does ({len(buf)} of {width * height} bytes)"
                )
            arr = np.frombuffer(buf, dtype=np.uint8).reshape(height, width).copy()
        elif ref.box is not None:
            # Many particles are cut from one collage, one after the other: decode it once.
            arr = _decode_whole(ref.path, ref.members, ref.page, _stamp(ref.path))
        else:
            arr = _decode(ref, where)
        if ref.box is not None:
            x, y, w, h = ref.box
            H, W = arr.shape[-2:]
            if x < 0 or y < 0 or w <= 0 or h <= 0 or x + w > W or y + h > H:
                raise UserError(f"{where}: the box lies outside the {W}x{H} image")
            arr = arr[..., y : y + h, x : x + w].copy()  # a copy: the decoded collage is shared
    except UserError:
        raise
    except (OSError, ValueError, KeyError, IndexError, EOFError, zipfile.BadZipFile) as exc:
        raise UserError(
            f"{where}: cannot read the image ({_IN_MEMORY.sub('', str(exc))})"
        ) from None
    except Exception as exc:  # decoders raise many kinds; name the file, never a traceback
        raise UserError(f"{where}: cannot read the image ({error_text(exc)})") from None
    n = 1 if arr.ndim == 2 else arr.shape[0]
    return LoadedImage(arr, _channels(n))
