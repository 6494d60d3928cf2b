"""A grid of image thumbnails that stays fast on 100,000 images.

``QListView`` asks only for the rows it paints; the model answers with a placeholder and queues
the image.  Loader threads take the *newest* request first (what is on screen now), drop requests
that have scrolled far away, decode with ``sources.pixels.load_image`` and shrink to a small
``QImage`` off the UI thread; the UI thread only turns it into a pixmap and caches it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QRunnable,
    QSize,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QListView

from ...workflow import ImageRef, load_image

THUMB = 96
CACHE = 2000
MAX_QUEUE = 400


def to_qimage(arr: np.ndarray, size: int = THUMB) -> QImage:
    """A small 8-bit QImage of a (Y, X) or (C, Y, X) uint8/uint16 array (channels-first)."""
    if arr.ndim == 3:
        arr = np.moveaxis(arr, 0, -1)
    h, w = arr.shape[:2]
    step = max(1, int(np.ceil(max(h, w) / (size * 2))))
    arr = arr[::step, ::step]
    if arr.dtype == np.uint16:
        top = float(arr.max()) or 1.0
        arr = (arr.astype(np.float32) * (255.0 / top)).astype(np.uint8)
    arr = np.ascontiguousarray(arr)
    h, w = arr.shape[:2]
    if arr.ndim == 2:
        img = QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_Grayscale8)
    elif arr.shape[2] == 2:
        g = np.ascontiguousarray(arr[..., 0])
        img = QImage(g.data, w, h, g.strides[0], QImage.Format.Format_Grayscale8)
    elif arr.shape[2] == 3:
        img = QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_RGB888)
    else:
        arr = np.ascontiguousarray(arr[..., :4])
        img = QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_RGBA8888)
    return img.scaled(
        size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    ).copy()


class _Signals(QObject):
    loaded = Signal(int, int, object)  # generation, row, QImage or None


class _Loader(QRunnable):
    def __init__(self, model: ThumbnailModel):
        super().__init__()
        self.model = model
        self.signals = model._signals
        self.setAutoDelete(True)

    def run(self) -> None:
        job = self.model._pop()
        if job is None:
            return
        gen, row, ref = job
        try:
            img = to_qimage(load_image(ref).array)
        except Exception:  # unreadable images show as such; the report names them
            img = None
        self.signals.loaded.emit(gen, row, img)


class ThumbnailModel(QAbstractListModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.refs: list[ImageRef] = []
        self.ok: np.ndarray | None = None
        self.tips: dict[int, str] = {}
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()
        self._failed: set[int] = set()
        self._pending: set[int] = set()
        self._stack: list[tuple[int, int, ImageRef]] = []
        self._lock = threading.Lock()
        self._gen = 0
        self._signals = _Signals()
        self._signals.loaded.connect(self._loaded)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self._placeholder = self._make_placeholder(QColor("#e6e9ee"))
        self._broken = self._make_placeholder(QColor("#f4c7c3"))
        self.loads = 0  # decoded so far (tests read it: only what is shown gets decoded)

    @staticmethod
    def _make_placeholder(color: QColor) -> QPixmap:
        pm = QPixmap(THUMB, THUMB)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.fillRect(8, 8, THUMB - 16, THUMB - 16, color)
        p.end()
        return pm

    def set_images(
        self,
        refs: Sequence[ImageRef],
        ok: np.ndarray | None = None,
        tips: dict[int, str] | None = None,
    ) -> None:
        self.beginResetModel()
        with self._lock:
            self._gen += 1
            self._stack.clear()
        # a Sequence is kept as it is (the mapping's images are made when shown, not all at once)
        self.refs, self.ok, self.tips = (
            refs if isinstance(refs, Sequence) else list(refs),
            ok,
            tips or {},
        )
        self._cache.clear()
        self._failed.clear()
        self._pending.clear()
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.refs)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        i = index.row()
        if not 0 <= i < len(self.refs):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            name = self.refs[i].name.rsplit("/", 1)[-1]
            return name if len(name) <= 16 else name[:7] + "…" + name[-8:]
        if role == Qt.ItemDataRole.DecorationRole:
            pm = self._cache.get(i)
            if pm is not None:
                self._cache.move_to_end(i)
                return pm
            if i in self._failed:
                return self._broken
            self._request(i)
            return self._placeholder
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = self.refs[i].name
            return f"{tip}\n{self.tips[i]}" if i in self.tips else tip
        if role == Qt.ItemDataRole.ForegroundRole and self.ok is not None and not self.ok[i]:
            return QColor("#b00020")
        return None

    def _request(self, i: int) -> None:
        if i in self._pending:
            return
        self._pending.add(i)
        with self._lock:
            self._stack.append((self._gen, i, self.refs[i]))
            if len(self._stack) > MAX_QUEUE:  # scrolled far away: forget the oldest requests
                dropped = self._stack[: len(self._stack) - MAX_QUEUE]
                del self._stack[: len(self._stack) - MAX_QUEUE]
            else:
                dropped = []
        for _, j, _ in dropped:
            self._pending.discard(j)
        self.pool.start(_Loader(self))

    def _pop(self):
        with self._lock:
            return self._stack.pop() if self._stack else None

    def _loaded(self, gen: int, row: int, img) -> None:
        if gen != self._gen:
            return
        self._pending.discard(row)
        self.loads += 1
        if img is None:
            self._failed.add(row)
        else:
            self._cache[row] = QPixmap.fromImage(img)
            while len(self._cache) > CACHE:
                self._cache.popitem(last=False)
        idx = self.index(row)
        self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    def shutdown(self) -> None:
        with self._lock:
            self._stack.clear()
        self.pool.waitForDone(5000)


class ThumbnailGrid(QListView):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.model_ = ThumbnailModel(self)
        self.setModel(self.model_)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(500)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setGridSize(QSize(THUMB + 24, THUMB + 28))
        self.setSpacing(4)
        self.setWordWrap(False)
