"""The one progress-and-cancel contract that every long task speaks (scan, map, pack, send).

A core function takes a ``Task``; it calls ``task.start(...)``, ``task.advance(...)`` and
``task.status(...)`` as it goes and ``task.check()`` between units of work.  Who listens (the CLI's
progress bar, the GUI's queued Qt signal, a test's list) is decided by the ``on_event`` callback;
the core never knows which.  Cancelling is cooperative: ``task.cancel()`` from any thread makes the
next ``task.check()`` raise ``Cancelled``, which leaves already-committed work in place.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


class Cancelled(Exception):
    """Raised inside the core by ``Task.check()`` once the user asked to stop."""


@dataclass(frozen=True)
class ProgressEvent:
    """A snapshot of a task's progress; immutable so it can cross threads safely."""

    phase: str  # "scan", "map", "pack", "verify", "send", ...
    done: int = 0  # units finished (images, files, rows)
    total: int | None = None  # None when unknown
    unit: str = "images"
    bytes_done: int = 0
    bytes_total: int | None = None
    rate: float | None = None  # units per second, smoothed
    byte_rate: float | None = None  # bytes per second, smoothed
    eta_seconds: float | None = None
    message: str = ""  # a status line in plain words
    finished: bool = False

    @property
    def fraction(self) -> float | None:
        if self.bytes_total:
            return min(1.0, self.bytes_done / self.bytes_total)
        if self.total:
            return min(1.0, self.done / self.total)
        return None


@dataclass
class Task:
    """Progress state of one long operation, with a thread-safe cancel flag.

    ``on_event`` is called (in the worker's thread) at most every ``min_interval`` seconds, and
    always on ``start``, ``status`` and ``finish``.
    """

    on_event: Callable[[ProgressEvent], None] | None = None
    min_interval: float = 0.1
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _phase: str = "idle"
    _unit: str = "images"
    _done: int = 0
    _total: int | None = None
    _bytes: int = 0
    _bytes_total: int | None = None
    _message: str = ""
    _t0: float = 0.0
    _start_done: int = 0
    _start_bytes: int = 0
    _last_emit: float = 0.0
    _rate: float | None = None
    _byte_rate: float | None = None

    # --- the core's side -------------------------------------------------------------------
    def start(
        self,
        phase: str,
        total: int | None = None,
        *,
        unit: str = "images",
        done: int = 0,
        bytes_total: int | None = None,
        bytes_done: int = 0,
        message: str = "",
    ) -> None:
        """Begin a phase; ``done``/``bytes_done`` say how much a resumed run already had."""
        self._phase, self._total, self._unit = phase, total, unit
        self._done, self._bytes, self._bytes_total = done, bytes_done, bytes_total
        self._message = message
        self._t0 = time.monotonic()
        self._start_done, self._start_bytes = done, bytes_done
        self._rate = self._byte_rate = None
        self._emit(force=True)

    def advance(self, n: int = 1, nbytes: int = 0, *, sent: bool = True) -> None:
        """``sent=False``: the bytes were found done (a resumed send learns what the server holds),
        not done now, so they move the bar but not the rate."""
        self._done += n
        self._bytes += nbytes
        if not sent:
            self._start_bytes += nbytes
        self._emit()

    def set_total(self, total: int | None, bytes_total: int | None = None) -> None:
        self._total = total
        if bytes_total is not None:
            self._bytes_total = bytes_total
        self._emit(force=True)

    def status(self, message: str) -> None:
        self._message = message
        self._emit(force=True)

    def finish(self, message: str = "") -> None:
        if message:
            self._message = message
        self._emit(force=True, finished=True)

    def check(self) -> None:
        """Raise ``Cancelled`` if the user asked to stop; call between units of work."""
        if self._cancel.is_set():
            raise Cancelled(f"{self._phase} cancelled")

    # --- the caller's side -----------------------------------------------------------------
    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def snapshot(self) -> ProgressEvent:
        return self._event(finished=False)

    # --- internals ---------------------------------------------------------------------------
    def _event(self, finished: bool) -> ProgressEvent:
        elapsed = time.monotonic() - self._t0 if self._t0 else 0.0
        if elapsed > 0.2:
            self._rate = (self._done - self._start_done) / elapsed
            self._byte_rate = (self._bytes - self._start_bytes) / elapsed
        eta = None
        if self._bytes_total and self._byte_rate:
            eta = max(0.0, (self._bytes_total - self._bytes) / self._byte_rate)
        elif self._total and self._rate:
            eta = max(0.0, (self._total - self._done) / self._rate)
        return ProgressEvent(
            phase=self._phase,
            done=self._done,
            total=self._total,
            unit=self._unit,
            bytes_done=self._bytes,
            bytes_total=self._bytes_total,
            rate=self._rate,
            byte_rate=self._byte_rate,
            eta_seconds=eta,
            message=self._message,
            finished=finished,
        )

    def _emit(self, force: bool = False, finished: bool = False) -> None:
        if self.on_event is None:
            return
        now = time.monotonic()
        if not force and now - self._last_emit < self.min_interval:
            return
        self._last_emit = now
        self.on_event(self._event(finished))


def format_bytes(n: float) -> str:
    """Bytes in the words a progress line uses (decimal units: 1.5 MB, 2.0 GB)."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def null_task() -> Task:
    """A task nobody listens to; for library calls that do not care about progress."""
    return Task()
