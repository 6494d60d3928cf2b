"""A progress bar with a line of plain words: done of total, rate, time left."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from ...progress import ProgressEvent
from ...progress import format_bytes as fmt_bytes


def fmt_duration(s: float | None) -> str:
    if s is None:
        return ""
    s = int(s)
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s} s"


def describe(ev: ProgressEvent) -> str:
    total = f" of {ev.total:,}" if ev.total is not None else ""
    parts = [f"{ev.done:,}{total} {ev.unit}"]
    if ev.bytes_total:
        parts.append(f"{fmt_bytes(ev.bytes_done)} of {fmt_bytes(ev.bytes_total)}")
    if ev.rate:
        parts.append(f"{ev.rate:,.1f} {ev.unit}/s")
    if ev.byte_rate:
        parts.append(f"{fmt_bytes(ev.byte_rate)}/s")
    if ev.eta_seconds is not None and not ev.finished:
        parts.append(f"about {fmt_duration(ev.eta_seconds)} left")
    text = " · ".join(parts)
    return f"{ev.message} — {text}" if ev.message else text


class ProgressPanel(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        h = QHBoxLayout()
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.bar.setTextVisible(True)
        h.addWidget(self.bar, 1)
        v.addLayout(h)
        self.label = QLabel(" ")
        self.label.setWordWrap(True)
        v.addWidget(self.label)
        self.last: ProgressEvent | None = None

    def reset(self, text: str = " ") -> None:
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.label.setText(text)
        self.last = None

    def update_event(self, ev: ProgressEvent) -> None:
        self.last = ev
        frac = ev.fraction
        if frac is None and not ev.finished:
            self.bar.setRange(0, 0)  # busy indicator
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * (1.0 if frac is None else frac)))
        self.label.setText(f"{ev.phase.capitalize()}: {describe(ev)}")

    def set_text(self, text: str) -> None:
        self.label.setText(text)
