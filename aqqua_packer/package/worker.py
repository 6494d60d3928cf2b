"""What a worker process does for one image: decode, hash, name, compress.  Picklable, stateless.

Runs in the pool of ``write.py`` (or inline for one worker).  Errors come back as values naming
the file, so one bad image never takes the pool down.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid as _uuid

import numpy as np

from ..problems import UserError
from ..sources.base import ImageRef
from ..sources.pixels import describe, load_image
from . import frames

# uuid5 namespace of AqQua image uuids (docs/format.md, "image-uuid").  Never change it: it is what
# makes packing the same pixels again give the same uuid.
IMAGE_UUID_NAMESPACE = _uuid.uuid5(
    _uuid.NAMESPACE_URL, "https://aqqua.life/aqqua-packer/image-uuid/v1"
)


def image_uuid(
    sha256_hex: str, dtype: np.dtype | str, shape: tuple[int, ...], occurrence: int = 0
) -> str:
    """The uuid of an image from its decoded pixels; ``occurrence`` > 0 for the n-th other image
    in the same package with identical pixel bytes (so uuids stay unique)."""
    name = f"{sha256_hex}:{np.dtype(dtype).str}:{'x'.join(str(int(s)) for s in shape)}"
    if occurrence:
        name += f":{occurrence}"
    return str(_uuid.uuid5(IMAGE_UUID_NAMESPACE, name))


def channel_meta(channels: list[dict[str, str]]) -> dict:
    """The per-image blosc2 meta besides the uuid: channel names when there is more than one."""
    return {"image-channels": [dict(c) for c in channels]} if len(channels) > 1 else {}


def encode_one(ref: ImageRef, compression: str = frames.DEFAULT_COMPRESSION) -> tuple:
    """("ok", sha256_hex, uuid, frame, channel names, dtype str, shape) or ("error", message)."""
    try:
        img = load_image(ref)
        arr = img.array
        sha = hashlib.sha256(memoryview(arr).cast("B")).hexdigest()
        uid = image_uuid(sha, arr.dtype, arr.shape)
        frame = frames.encode(arr, uid, channel_meta(img.channels), compression)
        return (
            "ok",
            sha,
            uid,
            frame,
            [c["name"] for c in img.channels],
            arr.dtype.str,
            tuple(arr.shape),
        )
    except UserError as exc:
        return ("error", str(exc))
    except MemoryError:
        return ("error", f"{describe(ref)}: not enough memory to decode this image")
    except Exception as exc:  # a decoder's own error type: name the file, keep the pool alive
        return ("error", f"{describe(ref)}: cannot read the image ({type(exc).__name__}: {exc})")


def encode_batch(
    refs: list[ImageRef], compression: str = frames.DEFAULT_COMPRESSION
) -> list[tuple]:
    return [encode_one(r, compression) for r in refs]


def _watch_parent(pid: int) -> None:
    # A worker whose packer was killed (kill -9, power button on a GUI) must not linger.
    while True:
        time.sleep(0.5)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except OSError:
            pass


def init_worker(parent_pid: int) -> None:
    """Pool initializer: one blosc2 thread per process, and exit when the parent is gone."""
    import blosc2

    blosc2.set_nthreads(1)
    try:  # Ctrl-C is for the main process, which stops us; no traceback per worker
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except (ValueError, OSError):
        pass
    if os.name == "posix":
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()


def serve_worker(conn, parent_pid: int, compression: str) -> None:
    """A pool process: receive lists of ImageRefs, send back their results, until None or EOF."""
    init_worker(parent_pid)
    while True:
        try:
            refs = conn.recv()
        except (EOFError, OSError):
            return
        if refs is None:
            return
        conn.send(encode_batch(refs, compression))
