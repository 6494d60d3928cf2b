"""Where and when each dataset of an inventory was sampled: its bounding box on the world outline
(``charts.world_polygons``) and its first-to-last time as a bar on one time line.  The selected
dataset is drawn in a stronger colour."""

from __future__ import annotations

import pandas as pd
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from .charts import OCEAN, draw_land

BOX = QColor(40, 110, 190, 90)
BOX_EDGE = QColor(20, 80, 160)
PICKED = QColor(230, 120, 0, 170)
PICKED_EDGE = QColor(170, 70, 0)


class _DatasetChart(QWidget):
    """A chart of an inventory's datasets (``rows``), the ``selected`` one in a stronger colour."""

    min_height = 120
    tip_text = ""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list = []
        self.selected: str | None = None
        self.setMinimumSize(320, self.min_height)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip(self.tip_text)


class BoxesMap(_DatasetChart):
    """Equirectangular world map with one rectangle per dataset (a point when all its images were
    taken at one place; two rectangles when it crosses the antimeridian)."""

    min_height = 170
    tip_text = "Where each dataset was sampled; the selected one in orange."

    def set_rows(self, rows: list) -> None:
        self.rows = [r for r in rows if r.south is not None and r.west is not None]
        self.update()

    def set_selected(self, path: str | None) -> None:
        self.selected = path
        self.update()

    @staticmethod
    def boxes(row) -> list[tuple[float, float, float, float]]:
        """(west, south, east, north) rectangles of a row, split at the antimeridian."""
        if row.west <= row.east:
            return [(row.west, row.south, row.east, row.north)]
        return [(row.west, row.south, 180.0, row.north), (-180.0, row.south, row.east, row.north)]

    def paintEvent(self, _ev) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        W, H = self.width(), self.height()
        s = min(W / 360.0, H / 180.0)
        w, h = 360 * s, 180 * s
        ox, oy = (W - w) / 2, (H - h) / 2
        p.fillRect(self.rect(), self.palette().window())
        p.fillRect(QRectF(ox, oy, w, h), OCEAN)
        p.save()
        p.translate(ox + 180 * s, oy + 90 * s)
        draw_land(p, s)
        p.restore()

        def pt(lon: float, lat: float) -> QPointF:
            return QPointF(ox + (lon + 180) * s, oy + (90 - lat) * s)

        ordered = sorted(self.rows, key=lambda r: r.path == self.selected)  # selected on top
        for r in ordered:
            picked = r.path == self.selected
            p.setPen(QPen(PICKED_EDGE if picked else BOX_EDGE, 2 if picked else 1))
            p.setBrush(PICKED if picked else BOX)
            for west, south, east, north in self.boxes(r):
                rect = QRectF(pt(west, north), pt(east, south))
                if rect.width() < 5 or rect.height() < 5:  # one place: a dot big enough to see
                    c = rect.center()
                    rect = QRectF(c.x() - 3, c.y() - 3, 6, 6)
                p.drawRect(rect)
        p.setPen(QColor("#333"))
        p.setFont(QFont(self.font().family(), 8))
        p.drawText(
            QRectF(ox + 6, oy + 4, w - 12, 16),
            Qt.AlignmentFlag.AlignRight,
            f"{len(self.rows)} dataset{'s' if len(self.rows) != 1 else ''} with positions",
        )
        p.end()


class TimeLine(_DatasetChart):
    """One bar per dataset from its first to its last sample, on a common time axis (UTC)."""

    min_height = 120
    tip_text = "When each dataset was sampled (UTC); the selected one in orange."

    def set_rows(self, rows: list) -> None:
        self.rows = sorted((r for r in rows if r.first), key=lambda r: (r.first, r.path))
        self.update()

    def set_selected(self, path: str | None) -> None:
        self.selected = path
        self.update()

    def span(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        if not self.rows:
            return None
        lo = pd.Timestamp(min(r.first for r in self.rows))
        hi = pd.Timestamp(max(r.last for r in self.rows))
        if hi <= lo:
            hi = lo + pd.Timedelta(days=1)
        return lo, hi

    def paintEvent(self, _ev) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().base())
        p.setFont(QFont(self.font().family(), 8))
        span = self.span()
        if span is None:
            p.setPen(QColor("#333"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No dates and times yet")
            p.end()
            return
        lo, hi = span
        W, H = self.width(), self.height()
        left, right, top, bottom = 12, 12, 8, 22
        pw, ph = W - left - right, H - top - bottom
        total = (hi - lo).total_seconds()
        step = ph / max(1, len(self.rows))
        bar = max(2.0, min(14.0, step - 2))

        def x(t: str) -> float:
            return left + pw * (pd.Timestamp(t) - lo).total_seconds() / total

        for i, r in enumerate(self.rows):
            picked = r.path == self.selected
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(PICKED if picked else BOX_EDGE)
            x0, x1 = x(r.first), x(r.last)
            p.drawRect(QRectF(x0, top + i * step, max(3.0, x1 - x0), bar))
            if step >= 11:  # room for a name: beside the bar, on the side with space
                p.setPen(QColor("#333"))
                name = r.instrument.split(" (")[0]
                right_side = x1 + 4 + 120 <= left + pw
                rect = (
                    QRectF(max(x1, x0 + 3) + 4, top + i * step - 2, 160, bar + 4)
                    if right_side
                    else QRectF(x0 - 164, top + i * step - 2, 160, bar + 4)
                )
                align = Qt.AlignmentFlag.AlignLeft if right_side else Qt.AlignmentFlag.AlignRight
                p.drawText(rect, align | Qt.AlignmentFlag.AlignVCenter, name)
        p.setPen(QColor("#555"))
        p.drawLine(left, top + ph, left + pw, top + ph)
        fmt = "%Y-%m-%d" if total > 3 * 86400 else "%Y-%m-%d %H:%M"
        p.drawText(
            QRectF(left, top + ph + 4, 160, 14), Qt.AlignmentFlag.AlignLeft, lo.strftime(fmt)
        )
        p.drawText(
            QRectF(left + pw - 160, top + ph + 4, 160, 14),
            Qt.AlignmentFlag.AlignRight,
            hi.strftime(fmt),
        )
        p.end()
