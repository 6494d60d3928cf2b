"""Pack each picture once: find copies of one image (raw + JPEG preview, a zip copy, a second folder).

Instruments and people keep the same image several times: a TIFF and its JPEG preview side by side,
the crops again inside ``export/ecotaxa/*.zip``, a ``previews/`` folder of smaller JPEGs.  AqQua
wants each picture once, in its rawest form, and the user wants to know what was left out and why.

Any reader calls it on its image list before returning a ``Scan``::

    from .copies import set_aside_copies

    images, aside = set_aside_copies(images, task)
    scan = Scan(kind=..., images=images, set_aside=aside, ...)

Rules, cheapest first (so a folder of 100,000 distinct files costs one dictionary pass):

1. Candidates share a *stem*: the file name, lower-cased, without image suffixes (``.ome.tiff``
   counts as one) and without preview words (``_preview``, ``_thumb``, ``-small``, ...).  Images
   with a ``box`` or ``raw`` (cut from a collage or a ``.roi``) are never candidates.
2. Within a stem, two files with the same size and the same bytes are one image (``identical``).
3. A lossy file (JPEG) whose lossless sibling (TIFF, PNG, BMP, GIF) has the same stem is its preview
   (wherever it lies: beside it, in a ``previews/`` folder, in a zip) only when it really is a copy:
   its pixel size is the sibling's or a scaled-down one, both decode, the sibling's pixels (scaled
   down to the JPEG's size) match the JPEG's within JPEG error (``_same_picture``), and no table
   row names the JPEG while another names the sibling (``named``).  A JPEG beside a sibling that
   does not decode is kept: the only readable version is never dropped.
4. Otherwise same-stem files are different pictures (``day1/img001.png`` and ``day2/img001.png``)
   and are all kept.

Which copy is kept ("the raw one"): a plain file before a zip member, lossless before lossy, more
pixels before fewer, a shallower path before a deeper one, then name order.  When the kept image has
no row but a copy had one, the kept image takes over the copy's row, so metadata is never lost.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import PurePosixPath

from ..progress import Task, null_task
from .base import ImageList, ImageRef, SetAside, as_image_list

LOSSLESS = {".tif": 0, ".tiff": 0, ".png": 1, ".bmp": 2, ".gif": 3}
LOSSY = {".jpg": 10, ".jpeg": 10}
PREVIEW_FOLDERS = {
    "preview",
    "previews",
    "thumb",
    "thumbs",
    "thumbnail",
    "thumbnails",
    "jpeg",
    "jpg",
    "web",
    "small",
    "quicklook",
}
_PREVIEW_WORDS = re.compile(r"[._ -](preview|thumb|thumbnail|small|web|quicklook)$")
_IMAGE_SUFFIX = re.compile(r"(\.ome)?\.(tiff?|png|jpe?g|bmp|gif)$", re.I)


def stem_of(name: str) -> str:
    """The copy-comparison stem of an image name: ``a/B_preview.JPG`` -> ``b``."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    base = _IMAGE_SUFFIX.sub("", base)
    return _PREVIEW_WORDS.sub("", base)


def _suffix(ref: ImageRef) -> str:
    name = ref.members[-1] if ref.members else ref.path
    return os.path.splitext(name)[1].lower()


def _container(ref: ImageRef) -> str:
    """The folder (or zip + folder inside it) holding the image."""
    if ref.members:
        return (
            ref.path
            + "!"
            + "!".join(ref.members[:-1])
            + "!"
            + str(PurePosixPath(ref.members[-1]).parent)
        )
    return os.path.dirname(ref.path)


def _parent_words(ref: ImageRef) -> set[str]:
    parts = PurePosixPath(ref.name.replace("\\", "/")).parts[:-1]
    return {p.lower() for p in parts}


def _read(ref: ImageRef) -> bytes:
    from .pixels import read_bytes

    return read_bytes(ref)


def _digest(ref: ImageRef, cache: dict) -> str | None:
    if ref in cache:
        return cache[ref]
    try:
        d = hashlib.blake2b(_read(ref), digest_size=16).hexdigest()
    except Exception:  # unreadable: cannot be shown to be a copy; the packer reports it later
        d = None
    cache[ref] = d
    return d


def _dims(ref: ImageRef, cache: dict) -> tuple[int, int] | None:
    if ("dims", ref) in cache:
        return cache[("dims", ref)]
    dims = None
    try:
        from PIL import Image

        src = io.BytesIO(_read(ref)) if ref.members else ref.path
        with Image.open(src) as im:  # reads the header only
            dims = im.size
    except Exception:
        dims = None
    cache[("dims", ref)] = dims
    return dims


def _rank(ref: ImageRef, dims: tuple[int, int] | None) -> tuple:
    suffix = _suffix(ref)
    fmt = LOSSLESS.get(suffix, LOSSY.get(suffix, 5))
    pixels = -(dims[0] * dims[1]) if dims else 0
    depth = ref.name.count("/") + len(ref.members)
    return (1 if ref.members else 0, fmt, pixels, depth, ref.name)


def _describe(ref: ImageRef) -> str:
    return " › ".join([ref.path, *ref.members])


def _scaled(small: tuple[int, int] | None, big: tuple[int, int] | None) -> bool:
    if not small or not big:
        return False
    if small == big:
        return True
    (w, h), (W, H) = small, big
    return w <= W and h <= H and abs(w / max(h, 1) - W / max(H, 1)) < 0.02 * (W / max(H, 1))


def _pixels(ref: ImageRef, size: tuple[int, int] | None = None):
    """The image as grey float pixels (0..255), scaled down to ``size`` when given; None when it
    does not decode."""
    import numpy as np
    from PIL import Image

    try:
        src = io.BytesIO(_read(ref))
        with Image.open(src) as im:
            im.load()
            arr = np.asarray(im)
            if size is not None and im.size != size:
                if arr.dtype != np.uint8:  # 16-bit: to 8 bits before Pillow scales it
                    arr = (arr.astype(np.float64) * (255.0 / max(1, int(arr.max())))).astype(
                        np.uint8
                    )
                arr = np.asarray(Image.fromarray(arr).resize(size, Image.Resampling.BOX))
    except Exception:  # damaged or truncated: not shown to be a copy
        return None
    a = arr.astype(np.float64)
    if arr.dtype.itemsize > 1:
        a *= 255.0 / 65535.0
    if a.ndim == 3:
        a = a[..., :3].mean(axis=2)
    return a


def _same_picture(lossy: ImageRef, big: ImageRef, cache: dict) -> bool:
    """Does the JPEG ``lossy`` show the same pixels as ``big`` (scaled to its size), within JPEG
    error?  The root-mean-square difference must stay below 0.6 × the sibling's own spread plus 3
    grey levels: JPEG at quality 75 of pure noise differs by ~0.13 of the spread (~0.5 when also
    scaled down), two different pictures by ~1.4 of it."""
    key = ("same", lossy, big)
    if key in cache:
        return cache[key]
    small = _pixels(lossy)
    same = False
    if small is not None:
        ref = _pixels(big, (small.shape[1], small.shape[0]))
        if ref is not None and ref.shape == small.shape:
            rmse = float(((ref - small) ** 2).mean() ** 0.5)
            same = rmse <= 0.6 * float(ref.std()) + 3.0
    cache[key] = same
    return same


def _name_keys(name: str) -> tuple[str, str]:
    low = name.replace("\\", "/").lower()
    return low, low.rsplit("/", 1)[-1]


def _own_row(ref: ImageRef, kept: ImageRef, named: frozenset[str]) -> bool:
    """Has ``ref`` a row of its own, another than ``kept``'s?  A row the reader linked (``row``),
    or a table value naming its path or file name (``named``, lower case)."""
    if ref.row is not None and kept.row is not None and ref.row != kept.row:
        return True
    if named and any(k in named for k in _name_keys(ref.name)):
        return any(k in named for k in _name_keys(kept.name))
    return False


def set_aside_copies(
    images: Sequence[ImageRef],
    task: Task | None = None,
    named: Iterable[str] = (),
) -> tuple[ImageList, list[SetAside]]:
    """Keep one image per picture; return (kept images in their order, set-aside copies with reasons).

    ``named``: the image names a metadata table gives (its image column), any case: a JPEG a row
    names is never set aside as the preview of a sibling another row names."""
    task = task or null_task()
    groups = _same_stem(images)
    if not groups:  # no two images share a stem: no set of names (a string per row) is needed
        return as_image_list(images), []
    if hasattr(named, "to_pylist"):  # an Arrow array of the table's names
        named = named.to_pylist()
    drop: dict[int, tuple[int, str]] = {}  # index -> (kept index, reason)
    named = (str(n).strip().replace("\\", "/").lower() for n in named)
    cache: dict = {"named": frozenset(named)}  # asked only about images that share a stem
    for idxs in groups:
        task.check()
        _resolve([images[i] for i in idxs], idxs, drop, cache)
    if not drop:
        return as_image_list(images), []
    kept_row: dict[int, int] = {}
    for i, (k, _) in drop.items():
        if images[k].row is None and images[i].row is not None:
            kept_row.setdefault(k, images[i].row)
    out = ImageList()
    for i, ref in enumerate(images):
        if i in drop:
            continue
        out.append(replace(ref, row=kept_row[i]) if i in kept_row else ref)
    aside = [
        SetAside(path=_describe(images[i]), reason=reason, kept=images[k].name)
        for i, (k, reason) in sorted(drop.items())
    ]
    return out, aside


def _same_stem(images: Sequence[ImageRef]) -> list[list[int]]:
    """Positions of the images that share a stem with another, one list per stem (in order).

    Stems are counted in one array pass; only the few that repeat get a list (a dictionary of a
    list per stem held 20 MB for 100,000 distinct images)."""
    import numpy as np
    import pandas as pd

    codes = _stem_codes(images) if isinstance(images, ImageList) else None
    if codes is not None:
        return _groups(codes)
    if isinstance(images, ImageList):  # by name, without making an ImageRef each
        stems = np.array([stem_of(n) for n in images.names()], dtype=object)
        stems[images.cut_out()] = None
    else:
        stems = np.array(
            [
                None if ref.box is not None or ref.raw is not None else stem_of(ref.name)
                for ref in images
            ],
            dtype=object,
        )
    codes, _ = pd.factorize(stems)  # None (never a candidate) is -1
    del stems
    return _groups(codes)


def _groups(codes) -> list[list[int]]:
    """One list of positions per code held by two or more images (code -1: no candidate)."""
    import numpy as np

    if not len(codes):
        return []
    counts = np.bincount(codes[codes >= 0]) if (codes >= 0).any() else np.zeros(0, np.int64)
    shared = np.flatnonzero((codes >= 0) & (counts[np.maximum(codes, 0)] >= 2))
    groups: dict[int, list[int]] = {}
    for i in shared.tolist():
        groups.setdefault(int(codes[i]), []).append(i)
    return list(groups.values())


def _resolve(refs: list[ImageRef], idxs: list[int], drop: dict, cache: dict) -> None:
    """Decide which of same-stem images are copies of which; fills ``drop``."""
    # Clusters of pictures: each a list of positions into refs; start with identical bytes.
    clusters: list[list[int]] = []
    by_size: dict[int, list[int]] = {}
    for j, ref in enumerate(refs):
        by_size.setdefault(ref.size if ref.size > 0 else -j - 1, []).append(j)
    for size, js in by_size.items():
        if size < 0 or len(js) == 1:
            clusters.extend([j] for j in js)
            continue
        by_hash: dict[str, list[int]] = {}
        for j in js:
            h = _digest(refs[j], cache)
            by_hash.setdefault(h if h is not None else f"unreadable{j}", []).append(j)
        clusters.extend(by_hash.values())
    identical = {j for c in clusters if len(c) > 1 for j in c}
    # Lossy previews of a lossless sibling.
    lossless = [c for c in clusters if _suffix(refs[c[0]]) in LOSSLESS]
    merged: list[list[int]] = []
    for c in clusters:
        ref = refs[c[0]]
        if _suffix(ref) in LOSSY and lossless:
            target = None
            for lc in lossless:
                big = refs[lc[0]]
                # A copy has the sibling's size or a scaled-down one, no row of its own, and
                # the sibling's pixels (issue 15: a JPEG was dropped for a TIFF that did not
                # decode, and a different picture with its own row for a PNG of the same name).
                if (
                    _scaled(_dims(ref, cache), _dims(big, cache))
                    and not _own_row(ref, big, cache["named"])
                    and _same_picture(ref, big, cache)
                ):
                    target = lc
                    break
            if target is not None:
                target.extend(c)
                continue
        merged.append(c)
    for c in merged:
        if len(c) < 2:
            continue
        mixed = len({_suffix(refs[j]) for j in c}) > 1
        best = min(c, key=lambda j: _rank(refs[j], _dims(refs[j], cache) if mixed else None))
        keep = refs[best]
        for j in c:
            if j == best:
                continue
            ref = refs[j]
            if j in identical and best in identical and _digest(ref, cache) == _digest(keep, cache):
                where = "inside a zip" if ref.members and not keep.members else "elsewhere"
                reason = f"identical copy ({where}) of {keep.name}: same bytes"
            elif _suffix(ref) in LOSSY and _suffix(keep) not in LOSSY:
                reason = f"lossy {_suffix(ref)[1:].upper()} preview of {keep.name}; the {_suffix(keep)[1:].upper()} is packed"
            else:
                reason = f"another copy of {keep.name}"
            drop[idxs[j]] = (idxs[best], reason)


_STEM_BATCH = 65_536


def _stem_codes(images: ImageList):
    """Each image's stem as a number (first seen, first numbered; -1 for a box or raw), computed
    in Arrow: a Python string per image (and a hash table of them) held ~150 MB at the peak of
    scanning a million images.  ``None`` when a name is not plain ASCII or holds a line break
    (Python's ``lower`` and ``re``'s ``$`` then decide, as ``stem_of`` does)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    names = images.names_arrow()
    if not len(names):
        return np.zeros(0, np.int64)
    if (
        not pc.all(pc.string_is_ascii(names)).as_py()
        or pc.any(pc.match_substring(names, "\n")).as_py()
    ):
        return None
    stems = []
    for start in range(0, len(names), _STEM_BATCH):  # the temporaries of one batch at a time
        low = pc.ascii_lower(names.slice(start, _STEM_BATCH))
        base = pc.replace_substring_regex(pc.replace_substring(low, "\\", "/"), r"^.*/", "")
        del low
        base = pc.replace_substring_regex(base, _IMAGE_SUFFIX.pattern, "")
        stems.append(pc.replace_substring_regex(base, _PREVIEW_WORDS.pattern, ""))
        del base
    encoded = pc.dictionary_encode(pa.chunked_array(stems).combine_chunks())
    del stems
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    del encoded
    codes[images.cut_out()] = -1  # a box (collage) or a byte range: never a candidate
    return codes
