"""The images a mapping will pack, by column: which scan, which image of it, which row."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..sources.base import ImageList, ImageRef, Scan


def filled(m: int, value: object) -> np.ndarray:
    """An object array of ``m`` references to one ``value`` (``np.full`` would make ``m`` copies of
    a string: 5.6 MB instead of 0.8 MB per 100,000 images)."""
    a = np.empty(m, dtype=object)
    a.fill(value)
    return a


@dataclass(slots=True)
class Item:
    """One image to pack: which scan it is from, where its pixels are, which row describes it."""

    scan: int  # index into Mapped.scans
    image: ImageRef
    row: int | None  # position in scans[scan].rows, or None when no row describes it


class Items(Sequence[Item]):
    """The images of a ``Mapped``, by column: the scan, the position in that scan's images, the row
    (-1: none).  ``items[i]`` makes the ``Item``; whole columns come without one (``names_arrow``,
    ``sizes``).  14 bytes an image, where ``Item`` objects cost ~100 and pin their ``ImageRef``."""

    __slots__ = ("_scans", "scan", "image", "row")

    def __init__(self, scans: Sequence[Scan], scan: np.ndarray, image: np.ndarray, row: np.ndarray):
        self._scans = scans
        self.scan = np.asarray(scan, dtype=np.int16 if len(scans) < 2**15 else np.int32)
        self.image = np.asarray(image, dtype=np.int32)  # position in that scan's images
        self.row = np.asarray(row, dtype=np.int64)

    @classmethod
    def of_scan(cls, scans: Sequence[Scan], i: int, rows: np.ndarray) -> Items:
        m = len(rows)
        return cls(scans, np.full(m, i), np.arange(m), rows)

    @classmethod
    def concat(cls, scans: Sequence[Scan], parts: Sequence[Items]) -> Items:
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return cls(scans, np.zeros(0), np.zeros(0), np.zeros(0))
        return cls(
            scans,
            np.concatenate([p.scan for p in parts]),
            np.concatenate([p.image for p in parts]),
            np.concatenate([p.row for p in parts]),
        )

    def __len__(self) -> int:
        return len(self.scan)

    def ref(self, i: int) -> ImageRef:
        return self._scans[int(self.scan[i])].images[int(self.image[i])]

    def name(self, i: int) -> str:
        return self._scans[int(self.scan[i])].images.name(int(self.image[i]))

    def row_of(self, i: int) -> int | None:
        r = int(self.row[i])
        return None if r < 0 else r

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return Item(int(self.scan[i]), self.ref(i), self.row_of(i))

    def __iter__(self) -> Iterator[Item]:
        for i in range(len(self)):
            yield self[i]

    def refs(self) -> Sequence[ImageRef]:
        """The items' images as a read-only sequence, each ``ImageRef`` made when asked for."""
        return _ItemRefs(self)

    def _end_to_end(self) -> tuple[list[ImageList], np.ndarray, bool]:
        """The image lists these items come from, each item's position in them laid end to end,
        and whether that is every image of them in order (nothing to pick then)."""
        used = np.unique(self.scan).tolist()
        start = np.zeros(int(self.scan.max()) + 1 if len(self) else 0, dtype=np.int64)
        total = 0
        for si in used:
            start[si] = total
            total += len(self._scans[si].images)
        pos = start[self.scan] + self.image
        every = len(pos) == total and bool((pos == np.arange(total)).all())
        return [self._scans[si].images for si in used], pos, every

    def sizes(self) -> np.ndarray:
        """Bytes of each image in its source (int64)."""
        lists, pos, every = self._end_to_end()
        sizes = np.concatenate([im.sizes() for im in lists]) if lists else np.zeros(0, np.int64)
        return sizes if every else sizes[pos]

    def names_arrow(self) -> pa.Array:
        """Every item's image name as an Arrow text array (no Python string per image); every
        image of one scan in order is that scan's own array (its buffer, not a copy)."""
        lists, pos, every = self._end_to_end()
        if not lists:
            return pa.array([], pa.large_string())
        names = (
            lists[0].names_arrow()
            if len(lists) == 1
            else pa.concat_arrays([im.names_arrow() for im in lists])
        )
        return names if every else names.take(pa.array(pos))


class _ItemRefs(Sequence[ImageRef]):
    __slots__ = ("_items",)

    def __init__(self, items: Items):
        self._items = items

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self._items.ref(j) for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("image index out of range")
        return self._items.ref(i)
