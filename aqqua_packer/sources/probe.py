"""Look at every image before packing: empty, cut-short or not-an-image files become problems.

``check`` must stay fast on 100,000 images, so an image is not decoded.  What is looked at, per
image (about 10 µs for a small file in the page cache):

- a plain file: its size, its first 64 bytes and its last 16 (one ``open``, two reads; a file
  under 8 KiB is read whole in one read and looked at in memory).  The first
  bytes say the format (PNG, JPEG, TIFF, BMP, GIF by their signatures); the last ones whether it
  ends as that format must end: PNG with its ``IEND`` chunk (PNG specification, section 5.6),
  JPEG with the EOI marker ``FF D9`` (ITU-T T.81, B.2.1), GIF with its trailer ``3B`` (GIF89a,
  section 27).  A BMP must be as long as its header says (``bfSize``); a TIFF as long as its
  first image's strips or tiles reach (TIFF 6.0, section 3: StripOffsets + StripByteCounts).
  When the end marker is not in the last 16 bytes, the last 4 KiB are searched (some writers
  append a trailer after it).
- a zip member: it is read whole, which checks the zip's CRC-32 of it, then looked at as above.
- an IFCB ``.roi`` image (a byte range): the range must lie inside the file.
- a box cut from a collage (FlowCam): the collage is looked at once, and the box must lie inside
  its width and height (from the PNG or TIFF header; other formats through Pillow's lazy header).

An image that does not look whole is then decoded, exactly as packing decodes it, and only an
image that does not decode is reported: a PNG cut exactly after its last pixel data still packs,
and is not a false alarm.  An empty file, an unreadable zip member or a byte range past the end
of the file are reported without decoding.  What this cannot see is damage in the middle of the
compressed pixels of an otherwise whole file; ``decode=True`` (``check --decode``) decodes every
image to find that, at the cost of a full decode per image.

Results are kept per scan, so the wizard, which checks again after every mapping change, looks at
each image once, and a look cancelled half-way continues where it stopped.
"""

from __future__ import annotations

import os
import re
import struct
import weakref
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..problems import UserError
from ..progress import Task
from .base import ImageList, ImageRef, Scan
from .pixels import TIFF_SUFFIXES, describe, load_image, read_bytes

HEAD = 64
TAIL = 16
TAIL_SEARCH = 4096
WHOLE = 8192  # a plain file shorter than this is read whole, in one read

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"IEND\xaeB`\x82"  # the IEND chunk's type and CRC
JPEG_EOI = b"\xff\xd9"
_BINARY = getattr(os, "O_BINARY", 0)
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]+")
# The decoders' byte counts make each message unique; the report groups identical messages.
_COUNTS = re.compile(r"\s*\(\d+ bytes not processed\)")


def image_format(head: bytes) -> str | None:
    """The format the first bytes of a file say, or None."""
    if head.startswith(PNG_SIGNATURE):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head.startswith(b"BM"):
        return "BMP"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    return None


# --- reading a few bytes of a file or of bytes in memory --------------------------------------------
class _File:
    """Reads at offsets of an open file without moving a shared position (``pread`` where the
    system has it)."""

    def __init__(self, path: str, fd: int | None = None):
        self.fd = os.open(path, os.O_RDONLY | _BINARY) if fd is None else fd
        self.size = os.fstat(self.fd).st_size

    if hasattr(os, "pread"):

        def read(self, offset: int, n: int) -> bytes:
            return os.pread(self.fd, n, offset if offset > 0 else 0)

    else:  # Windows

        def read(self, offset: int, n: int) -> bytes:
            os.lseek(self.fd, max(0, offset), 0)
            return os.read(self.fd, n)

    def close(self) -> None:
        os.close(self.fd)


if hasattr(os, "pread"):

    def _read_start(fd: int, n: int) -> bytes:
        return os.pread(fd, n, 0)

else:  # Windows: a file just opened reads from its start

    def _read_start(fd: int, n: int) -> bytes:
        return os.read(fd, n)


class _Bytes:
    def __init__(self, data: bytes):
        self.data, self.size = data, len(data)

    def read(self, offset: int, n: int) -> bytes:
        offset = max(0, offset)
        return self.data[offset : offset + n]

    def close(self) -> None:
        pass


_JPEG_PADDING = b"\x00\r\n \xff"


def _sound(data: bytes) -> bool:
    """A whole PNG or JPEG file in memory that ends as it must (``look``'s answer for the two
    common formats, when it has no doubt)."""
    if data.startswith(PNG_SIGNATURE):
        return data.endswith(PNG_END)
    if data.startswith(b"\xff\xd8\xff"):
        return data[-TAIL:].rstrip(_JPEG_PADDING).endswith(JPEG_EOI)
    return False


@dataclass
class _Look:
    """What the bytes say: a reason the image does not look whole (None: it does), and its width
    and height when the header gives them cheaply."""

    doubt: str | None = None
    fmt: str | None = None
    dims: tuple[int, int] | None = None


def _printable(head: bytes) -> str:
    text = _UNPRINTABLE.sub(" ", head[:24].decode("latin-1")).strip()
    return f" (it starts with {text!r})" if text else ""


def look(src: _File | _Bytes, suffix: str, page: int | None = None) -> _Look:
    """Look at the first and last bytes of an encoded image (see the module's docstring)."""
    size = src.size
    if size == 0:
        return _Look("the file is empty (0 bytes)")
    head = src.read(0, HEAD)
    fmt = image_format(head)
    if fmt is None:
        return _Look(f"not an image file that the packer reads{_printable(head)}")
    if suffix in TIFF_SUFFIXES and fmt != "TIFF":
        return _Look(f"named {suffix} but it is a {fmt} file", fmt)
    out = _Look(None, fmt)
    if fmt == "PNG":
        if head[12:16] == b"IHDR" and len(head) >= 24:
            out.dims = struct.unpack(">II", head[16:24])
        if not _ends_with(src, PNG_END):
            out.doubt = "the PNG is cut short (no end chunk IEND)"
    elif fmt == "JPEG":
        if not _ends_with(src, JPEG_EOI, padding=_JPEG_PADDING):
            out.doubt = "the JPEG is cut short (no end marker)"
    elif fmt == "GIF":
        if not _ends_with(src, b";", padding=b"\x00", search=False):
            out.doubt = "the GIF is cut short (no trailer)"
    elif fmt == "BMP":
        declared = int.from_bytes(head[2:6], "little")
        pixels_at = int.from_bytes(head[10:14], "little")
        if declared > size or pixels_at >= size:
            out.doubt = f"the BMP is shorter than its header says ({size} of {max(declared, pixels_at + 1)} bytes)"
    elif fmt == "TIFF":
        out.dims, out.doubt = _tiff(src, head, page or 0)
    return out


def _ends_with(
    src: _File | _Bytes, marker: bytes, padding: bytes = b"", search: bool = True
) -> bool:
    tail = src.read(src.size - TAIL, TAIL)
    if tail.rstrip(padding).endswith(marker) if padding else tail.endswith(marker):
        return True
    if not search:  # a one-byte marker is found anywhere in compressed data
        return False
    # a trailer after the end marker (camera data, a second copy): look further back
    return marker in src.read(src.size - TAIL_SEARCH, TAIL_SEARCH)


# TIFF 6.0 section 2 (Image File Directory) and section 3 (strips); BigTIFF's 8-byte variant.
_TYPE_SIZES = {1: 1, 3: 2, 4: 4, 16: 8, 13: 4, 18: 8}
_TYPE_CODES = {1: "B", 3: "H", 4: "I", 16: "Q", 13: "I", 18: "Q"}


def _tiff(src: _File | _Bytes, head: bytes, page: int) -> tuple[tuple[int, int] | None, str | None]:
    """(width, height) of page ``page`` and why it does not look whole (None: it does)."""
    bo = "<" if head[:2] == b"II" else ">"
    big = head[2:4] in (b"+\x00", b"\x00+")
    try:
        if big:
            ifd = struct.unpack(bo + "Q", head[8:16])[0]
            count_fmt, entry, ptr = "Q", 20, "Q"
        else:
            ifd = struct.unpack(bo + "I", head[4:8])[0]
            count_fmt, entry, ptr = "H", 12, "I"
        csize, psize = struct.calcsize(count_fmt), struct.calcsize(ptr)
        for _ in range(page):  # walk to the page's directory
            n = struct.unpack(bo + count_fmt, src.read(ifd, csize))[0]
            ifd = struct.unpack(bo + ptr, src.read(ifd + csize + n * entry, psize))[0]
            if ifd == 0:
                return None, f"the TIFF has no page {page + 1}"
        n = struct.unpack(bo + count_fmt, src.read(ifd, csize))[0]
        table = src.read(ifd + csize, n * entry)
        if len(table) < n * entry:
            return None, "the TIFF is cut short (its image directory is incomplete)"
        tags: dict[int, tuple[int, ...]] = {}
        for k in range(n):
            e = table[k * entry : (k + 1) * entry]
            tag, typ = struct.unpack(bo + "HH", e[:4])
            if tag not in (256, 257, 273, 279, 324, 325) or typ not in _TYPE_SIZES:
                continue
            cnt = struct.unpack(bo + ptr, e[4 : 4 + psize])[0]
            nbytes = cnt * _TYPE_SIZES[typ]
            inline = e[4 + psize :]
            data = (
                inline[:nbytes]
                if nbytes <= len(inline)
                else src.read(struct.unpack(bo + ptr, inline[:psize])[0], nbytes)
            )
            if len(data) < nbytes:
                return None, "the TIFF is cut short (a table of its image data is missing)"
            tags[tag] = struct.unpack(f"{bo}{cnt}{_TYPE_CODES[typ]}", data)
    except struct.error:
        return None, "the TIFF is cut short (its image directory is incomplete)"
    dims = (tags[256][0], tags[257][0]) if 256 in tags and 257 in tags else None
    offsets, counts = tags.get(273) or tags.get(324), tags.get(279) or tags.get(325)
    if offsets and counts:
        end = max(o + c for o, c in zip(offsets, counts, strict=False))
        if end > src.size:
            return (
                dims,
                f"the TIFF is shorter than its image data needs ({src.size} of {end} bytes)",
            )
    return dims, None


# --- one image -----------------------------------------------------------------------------------
def _decode_error(ref: ImageRef) -> str | None:
    """None when the image decodes as packing decodes it, else the decoder's reason."""
    try:
        load_image(ref)
    except UserError as exc:
        text = str(exc)
        where = describe(ref)
        text = text[len(where) + 2 :] if text.startswith(where + ": ") else text
        return _COUNTS.sub("", text.removeprefix("cannot read the image (").removesuffix(")"))
    return None


def _confirmed(ref: ImageRef, doubt: str) -> str | None:
    """The doubt, when decoding the image agrees that it cannot be read."""
    reason = _decode_error(ref)
    if reason is None:
        return None
    if doubt.startswith("the file is empty") or doubt.startswith("not an image"):
        return doubt
    return f"{doubt}: {reason}"


def _open(ref: ImageRef) -> _File | _Bytes:
    if ref.members:
        return _Bytes(read_bytes(ref))
    return _File(ref.path)


def _suffix(ref: ImageRef) -> str:
    name = ref.members[-1] if ref.members else ref.path
    return os.path.splitext(name)[1].lower()


@dataclass
class _Whole:
    """A collage (or any file many boxes are cut from), looked at once."""

    problem: str | None
    dims: tuple[int, int] | None


def _look_whole(ref: ImageRef) -> _Whole:
    whole = ImageRef(name=ref.name, path=ref.path, members=ref.members, page=ref.page)
    try:
        src = _open(whole)
    except (OSError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        return _Whole(_os_reason(exc), None)
    try:
        seen = look(src, _suffix(whole), whole.page)
    finally:
        src.close()
    if seen.doubt is not None:
        problem = _confirmed(whole, seen.doubt)
        if problem is not None:
            return _Whole(problem, None)
    dims = seen.dims
    if dims is None:
        dims = _pillow_dims(whole)
    return _Whole(None, dims)


def _pillow_dims(ref: ImageRef) -> tuple[int, int] | None:
    import io

    from PIL import Image

    try:
        data = read_bytes(ref)
        with Image.open(io.BytesIO(data)) as im:
            if ref.page:
                im.seek(ref.page)
            return im.size
    except Exception:  # the box check is then left to packing, which names the file
        return None


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "the file is not there any more"
    if isinstance(exc, KeyError):
        return "the zip no longer holds this image"
    if isinstance(exc, zipfile.BadZipFile):
        return f"the zip is damaged ({exc})"
    if isinstance(exc, OSError):
        return f"the file cannot be read ({exc.strerror or exc})"
    return f"the file cannot be read ({exc})"


class _Prober:
    """Looks at the images of one scan, keeping per-file facts (sizes, collages) between them."""

    def __init__(self, decode: bool):
        self.decode = decode
        self.wholes: dict[tuple, _Whole] = {}
        self.sizes: dict[str, int] = {}

    def _size(self, path: str) -> int:
        size = self.sizes.get(path)
        if size is None:
            if len(self.sizes) > 1000:
                self.sizes.clear()
            size = self.sizes[path] = os.stat(path).st_size
        return size

    def problem(self, ref: ImageRef) -> str | None:
        try:
            if ref.raw is not None:
                return self._raw(ref)
            if ref.box is not None:
                return self._box(ref)
            if self.decode or (ref.page and _suffix(ref) not in TIFF_SUFFIXES):
                # every image (--decode), or a frame of a GIF: decoding is the one way to know
                reason = _decode_error(ref)
                return None if reason is None else f"the image does not decode: {reason}"
            src = _open(ref)
            try:
                seen = look(src, _suffix(ref), ref.page)
            finally:
                src.close()
        except (OSError, KeyError, zipfile.BadZipFile, EOFError) as exc:
            return _os_reason(exc)
        if seen.doubt is None:
            return None
        return _confirmed(ref, seen.doubt)

    def plain(self, path: str, images: ImageList, j: int) -> str | None:
        """``problem`` for a whole file, the common case, without making its ImageRef.  A file
        shorter than ``WHOLE`` is read whole in one read (most vignettes): its size is what the
        read returns, and its first and last bytes are looked at in memory."""
        try:
            fd = os.open(path, os.O_RDONLY | _BINARY)
        except OSError as exc:
            return _os_reason(exc)
        try:
            data = _read_start(fd, WHOLE)
            named_tiff = path[-5:].lower().endswith((".tif", ".tiff"))
            if len(data) < WHOLE and not named_tiff and _sound(data):
                return None  # what ``look`` would find, without its steps
            src = _Bytes(data) if len(data) < WHOLE else _File(path, fd)
            dot = path.rfind(".")
            suffix = path[dot:].lower() if dot > max(path.rfind("/"), path.rfind(os.sep)) else ""
            seen = look(src, suffix)
        except OSError as exc:
            return _os_reason(exc)
        finally:
            os.close(fd)
        if seen.doubt is None:
            return None
        return _confirmed(images[j], seen.doubt)

    def _raw(self, ref: ImageRef) -> str | None:
        offset, width, height = ref.raw  # type: ignore[misc]
        if width <= 0 or height <= 0:
            return f"the image has no pixels ({width} x {height})"
        size = self._size(ref.path)
        if offset + width * height > size:
            return (
                f"the file ends before this image does (bytes {offset}..{offset + width * height} "
                f"of a {size}-byte file)"
            )
        return None

    def _box(self, ref: ImageRef) -> str | None:
        key = (ref.path, ref.members, ref.page)
        whole = self.wholes.get(key)
        if whole is None:
            whole = self.wholes[key] = _look_whole(ref)
        if whole.problem is not None:
            return f"the file it is cut from cannot be read: {whole.problem}"
        x, y, w, h = ref.box  # type: ignore[misc]
        if whole.dims is not None:
            W, H = whole.dims
            if x < 0 or y < 0 or w <= 0 or h <= 0 or x + w > W or y + h > H:
                return f"the box x={x} y={y} w={w} h={h} lies outside the {W}x{H} image"
        if self.decode:
            reason = _decode_error(ref)
            return None if reason is None else f"the image does not decode: {reason}"
        return None


# --- every image of the scans ------------------------------------------------------------------------
@dataclass
class _State:
    images: ImageList
    done: int = 0
    bad: dict[int, str] = field(default_factory=dict)


_STATES: dict[tuple[int, bool], _State] = {}


def _state(scan: Scan, decode: bool) -> _State:
    key = (id(scan), decode)
    st = _STATES.get(key)
    if st is None or st.images is not scan.images:
        if st is None:
            weakref.finalize(scan, _STATES.pop, key, None)
        st = _STATES[key] = _State(scan.images)
    return st


def unreadable_images(
    scans: Sequence[Scan],
    task: Task,
    *,
    decode: bool = False,
    which: Callable[[int], bool] | None = None,
) -> dict[tuple[int, int], str]:
    """``{(scan index, image position): why it cannot be read}`` for the images of ``scans``
    (those ``which(scan index)`` accepts) that are empty, cut short, not images or do not decode.

    Looks at each image's header (``decode=False``) or decodes it (``decode=True``); results are
    kept with the scan, so asking again costs nothing."""
    picked = [i for i in range(len(scans)) if which is None or which(i)]
    states = [(i, _state(scans[i], decode)) for i in picked]
    todo = sum(len(st.images) - st.done for _, st in states)
    out: dict[tuple[int, int], str] = {}
    if todo:
        task.start("Decoding images" if decode else "Opening images", todo, unit="images")
    for si, st in states:
        prober = _Prober(decode)
        images = st.images
        n = len(images)
        step = 1 if decode else 256
        many = len(images) - st.done >= 4 * step
        if not decode and many and _threads() > 1 and images.whole_files().all():
            _look_in_threads(prober, st, task, step)
        while st.done < n:
            task.check()
            stop = min(n, st.done + step)
            for j in range(st.done, stop):
                if not decode and images.is_plain(j):  # most images: no ImageRef made
                    why = prober.plain(images.path(j), images, j)
                else:
                    why = prober.problem(images[j])
                if why is not None:
                    st.bad[j] = why
            task.advance(stop - st.done)
            st.done = stop
        out.update({(si, j): why for j, why in st.bad.items()})
    if todo:
        task.finish(f"{len(out):,} unreadable" if out else "every image opens")
    return out


def _threads() -> int:
    """Threads that look at headers together, one a processor (at most 4: more only contend for
    Python's lock): opening and reading a file waits on the system (and on the disk when the
    files are not in memory), time another thread's Python uses."""
    return min(4, os.cpu_count() or 1)


def _look_at(prober: _Prober, images: ImageList, start: int, stop: int) -> dict[int, str]:
    """Why each of the whole-file images ``start:stop`` cannot be read (those that cannot)."""
    bad: dict[int, str] = {}
    for j in range(start, stop):
        why = prober.plain(images.path(j), images, j)
        if why is not None:
            bad[j] = why
    return bad


def _look_in_threads(prober: _Prober, st: _State, task: Task, step: int) -> None:
    """``unreadable_images``' loop over the images of one scan (every one a whole file), a block
    of ``step`` images at a time on a few threads; results are taken in the images' order, and a cancel stops it after
    the blocks under way (``st.done`` says where it stopped)."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    n = len(st.images)
    blocks = iter(range(st.done, n, step))
    ahead = 4 * _threads()  # blocks asked for before their results are taken
    pending: deque = deque()
    with ThreadPoolExecutor(_threads(), thread_name_prefix="aqqua-probe") as pool:
        try:
            while True:
                while len(pending) < ahead:
                    start = next(blocks, None)
                    if start is None:
                        break
                    stop = min(n, start + step)
                    pending.append((stop, pool.submit(_look_at, prober, st.images, start, stop)))
                if not pending:
                    break
                task.check()
                stop, fut = pending.popleft()
                st.bad.update(fut.result())
                task.advance(stop - st.done)
                st.done = stop
        finally:
            for _, fut in pending:
                fut.cancel()
