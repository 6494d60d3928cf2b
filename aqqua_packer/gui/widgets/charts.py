"""Two small plots drawn with QPainter: where the images were taken (on a world outline) and
when (a histogram).  Enough to see a wrong sign or a wrong year at a glance."""

from __future__ import annotations

import json
import math
from functools import lru_cache

import numpy as np
import pandas as pd
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from ...resources import resources_dir

OCEAN = QColor("#dbe9f6")
LAND = QColor("#f3f0e6")
COAST = QColor("#8c8c7a")
GRID = QColor("#b8cde0")
OK = QColor(20, 90, 200, 200)
BAD = QColor(200, 0, 30, 230)


@lru_cache(maxsize=1)
def world_polygons() -> list[QPolygonF]:
    """The outline as QPolygonFs in (lon, lat) degrees, built once."""
    return [QPolygonF([QPointF(float(x), float(y)) for x, y in poly]) for poly in world_outline()]


def draw_land(p: QPainter, scale: float) -> None:
    """The land and its coast, ``scale`` pixels a degree, on a painter whose origin is at
    longitude 0, latitude 0 (north up)."""
    p.scale(scale, -scale)
    pen = QPen(COAST, 0.8)
    pen.setCosmetic(True)  # the coast one pixel wide at any scale
    p.setPen(pen)
    p.setBrush(LAND)
    for poly in world_polygons():
        p.drawPolygon(poly)


@lru_cache(maxsize=1)
def world_outline() -> list[np.ndarray]:
    """Coastline polygons as (N, 2) arrays of lon, lat; [] when the outline file is absent."""
    path = resources_dir() / "world" / "land-110m.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [np.asarray(p, dtype=float) for p in data.get("polygons", []) if len(p) >= 3]


class PositionsMap(QWidget):
    """Equirectangular world map with the sampling positions; not-ready positions in red."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.lon = np.empty(0)
        self.lat = np.empty(0)
        self.ok = np.empty(0, dtype=bool)
        self.zoom = False
        self.setMinimumSize(360, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip(
            "Where the images were taken. Blue: ready; red: the image has a problem. A cluster on the wrong continent usually means a sign is wrong."
        )

    def set_positions(self, lon, lat, ok) -> None:
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        ok = np.asarray(ok, dtype=bool)
        keep = np.isfinite(lon) & np.isfinite(lat)
        self.lon, self.lat, self.ok = lon[keep], lat[keep], ok[keep]
        self.update()

    def set_zoom(self, on: bool) -> None:
        self.zoom = on
        self.update()

    def extent(self) -> tuple[float, float, float, float]:
        if self.zoom and self.lon.size:
            x0, x1 = float(self.lon.min()), float(self.lon.max())
            y0, y1 = float(self.lat.min()), float(self.lat.max())
            pad = max(2.0, 0.15 * max(x1 - x0, y1 - y0))
            return max(-180, x0 - pad), min(180, x1 + pad), max(-90, y0 - pad), min(90, y1 + pad)
        return -180.0, 180.0, -90.0, 90.0

    def paintEvent(self, _ev) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        x0, x1, y0, y1 = self.extent()
        W, H = self.width(), self.height()
        # keep the aspect ratio of the projection
        sx = W / (x1 - x0)
        sy = H / (y1 - y0)
        s = min(sx, sy)
        w, h = (x1 - x0) * s, (y1 - y0) * s
        ox, oy = (W - w) / 2, (H - h) / 2
        p.fillRect(self.rect(), self.palette().window())
        p.fillRect(QRectF(ox, oy, w, h), OCEAN)

        def pt(lon: float, lat: float) -> QPointF:
            return QPointF(ox + (lon - x0) * s, oy + (y1 - lat) * s)

        p.setClipRect(QRectF(ox, oy, w, h))
        p.save()
        p.translate(ox - x0 * s, oy + y1 * s)
        draw_land(p, s)
        p.restore()
        step = 30 if (x1 - x0) > 90 else (10 if (x1 - x0) > 30 else (2 if (x1 - x0) > 6 else 0.5))
        p.setFont(QFont(self.font().family(), 7))
        grid_pen, text_pen = QPen(GRID, 0.6, Qt.PenStyle.DashLine), QPen(QColor("#4a6a88"))
        lon = math.ceil(x0 / step) * step
        while lon <= x1:
            p.setPen(grid_pen)
            p.drawLine(pt(lon, y0), pt(lon, y1))
            p.setPen(text_pen)
            p.drawText(pt(lon, y0) + QPointF(2, -3), f"{lon:g}°")
            lon += step
        lat = math.ceil(y0 / step) * step
        while lat <= y1:
            p.setPen(grid_pen)
            p.drawLine(pt(x0, lat), pt(x1, lat))
            p.setPen(text_pen)
            if lat > y0:
                p.drawText(pt(x0, lat) + QPointF(3, -2), f"{lat:g}°")
            lat += step
        if self.lon.size:
            xs = ox + (self.lon - x0) * s
            ys = oy + (y1 - self.lat) * s
            for mask, color, ring in ((self.ok, OK, False), (~self.ok, BAD, True)):
                if not mask.any():
                    continue
                # one dot per screen pixel: 100,000 positions cost what a few hundred do
                key = np.unique(
                    np.round(xs[mask]).astype(np.int64) * 65536
                    + np.round(ys[mask]).astype(np.int64)
                )
                pix = np.stack([key // 65536, key % 65536], axis=1).astype(float)
                r = 4.0 if len(pix) < 2000 else 2.0
                if ring:  # images with problems: a red ring, so a blue point beneath stays visible
                    p.setPen(QPen(color, 2))
                    p.setBrush(Qt.BrushStyle.NoBrush)
                    r += 3
                else:
                    p.setPen(QPen(QColor(255, 255, 255, 220), 1))
                    p.setBrush(color)
                for a, b in pix:
                    p.drawEllipse(QPointF(a, b), r, r)
        p.setClipping(False)
        p.setPen(QColor("#333"))
        p.setFont(QFont(self.font().family(), 8))
        n_bad = int((~self.ok).sum())
        p.drawText(
            QRectF(ox + 6, oy + 4, w - 12, 16),
            Qt.AlignmentFlag.AlignRight,
            f"{self.lon.size:,} positions"
            + (f"; red rings: {n_bad:,} of images with problems" if n_bad else ""),
        )
        p.end()


class TimeHistogram(QWidget):
    """How many images per time bin; a lone bar far from the others is a wrong year or day."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.times = np.empty(0, dtype="datetime64[ns]")
        self.setMinimumSize(360, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip(
            "When the images were taken (UTC). A bar far from the others often means a wrong year, month or time zone."
        )

    local = False  # True while the time zone of local times is not given: no "UTC" then

    def set_times(self, times, local: bool = False) -> None:
        self.local = local
        self.setToolTip(
            "When the images were taken, as the instrument wrote them: local time of an unknown "
            "time zone until you give it in the Time zone row of the Map page."
            if local
            else "When the images were taken (UTC). A bar far from the others often means a "
            "wrong year, month or time zone."
        )
        t = pd.to_datetime(pd.Series(times), utc=True).dropna()
        self.times = t.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
        self.update()

    def bins(self, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
        v = self.times.astype("int64").astype(float)
        if v.size == 0:
            return np.zeros(0), np.zeros(1)
        lo, hi = v.min(), v.max()
        if hi <= lo:
            hi = lo + 3600e9
        counts, edges = np.histogram(v, bins=n, range=(lo, hi))
        return counts, edges

    def paintEvent(self, _ev) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), self.palette().base())
        W, H = self.width(), self.height()
        left, right, top, bottom = 44, 12, 12, 34
        p.setPen(QColor("#333"))
        p.setFont(QFont(self.font().family(), 8))
        if self.times.size == 0:
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No dates and times yet")
            p.end()
            return
        counts, edges = self.bins()
        cmax = max(1, int(counts.max()))
        pw, ph = W - left - right, H - top - bottom
        bw = pw / len(counts)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(40, 110, 190))
        for i, c in enumerate(counts):
            if c:
                bh = max(1.0, ph * c / cmax)
                p.drawRect(QRectF(left + i * bw + 0.5, top + ph - bh, max(1.0, bw - 1), bh))
        p.setPen(QColor("#555"))
        p.drawLine(left, top + ph, left + pw, top + ph)
        p.drawLine(left, top, left, top + ph)
        p.drawText(QRectF(0, top - 6, left - 4, 14), Qt.AlignmentFlag.AlignRight, f"{cmax:,}")
        p.drawText(QRectF(0, top + ph - 8, left - 4, 14), Qt.AlignmentFlag.AlignRight, "0")
        span = (edges[-1] - edges[0]) / 1e9
        fmt = "%Y-%m-%d" if span > 3 * 86400 else "%Y-%m-%d %H:%M"
        for frac, align in (
            (0.0, Qt.AlignmentFlag.AlignLeft),
            (0.5, Qt.AlignmentFlag.AlignHCenter),
            (1.0, Qt.AlignmentFlag.AlignRight),
        ):
            t = pd.Timestamp(int(edges[0] + frac * (edges[-1] - edges[0])))
            x = left + frac * pw
            rect = QRectF(x - (0 if frac == 0 else 140 if frac == 1 else 70), top + ph + 4, 140, 14)
            p.drawText(rect, align, t.strftime(fmt))
        p.drawText(
            QRectF(left, H - 16, pw, 14),
            Qt.AlignmentFlag.AlignHCenter,
            f"{self.times.size:,} images, "
            + ("local time (time zone not given)" if self.local else "UTC"),
        )
        p.end()
