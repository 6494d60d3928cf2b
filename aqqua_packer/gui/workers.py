"""Run core functions off the UI thread, with progress, cancel and error signals.

A ``Worker`` runs ``fn(task)`` in its own ``QThread``.  The ``Task``'s ``on_event`` emits a Qt
signal from the worker thread; because the ``Worker`` lives in the UI thread the signal is queued,
so the UI only ever sees ``ProgressEvent``s in its own thread and never blocks on the core.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from ..problems import UserError
from ..progress import Cancelled, ProgressEvent, Task

log = logging.getLogger("aqqua_packer.gui")


class _Thread(QThread):
    def __init__(self, worker: Worker):
        super().__init__()
        self._worker = worker

    def run(self) -> None:  # runs in the worker thread
        w = self._worker
        try:
            result = w._fn(w.task)
        except Cancelled:
            w._emit_cancelled.emit()
        except UserError as exc:
            w.exception = exc
            w._emit_failed.emit(str(exc))
        except Exception as exc:  # never let a traceback reach the user; keep it in the log
            w.exception = exc
            log.error("%s failed:\n%s", w.name, traceback.format_exc())
            w._emit_failed.emit(
                f"internal error ({type(exc).__name__}: {exc}); details are in the log"
            )
        else:
            w._emit_done.emit(result)


class Worker(QObject):
    """One background operation.  Connect to the signals, then ``start()``.

    Exactly one of ``done(result)``, ``failed(message)`` or ``cancelled()`` is emitted, then
    ``finished()``.  ``progress(ProgressEvent)`` arrives in the UI thread while it runs.
    """

    progress = Signal(object)
    done = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()

    # cross-thread relays (emitted in the worker thread, delivered queued in the UI thread)
    _emit_progress = Signal(object)
    _emit_done = Signal(object)
    _emit_failed = Signal(str)
    _emit_cancelled = Signal()

    def __init__(
        self, fn: Callable[[Task], Any], name: str = "task", parent: QObject | None = None
    ):
        super().__init__(parent)
        self._fn = fn
        self.name = name
        self.task = Task(on_event=self._emit_progress.emit)
        self.last_event: ProgressEvent | None = None
        self.result: Any = None
        self.error: str | None = None
        self.exception: BaseException | None = None  # the UserError behind ``failed``, if any
        self.outcome: str | None = None  # "done", "failed", "cancelled"
        self._thread = _Thread(self)
        self._started = False
        self._emit_progress.connect(self._on_progress)
        self._emit_done.connect(self._on_done)
        self._emit_failed.connect(self._on_failed)
        self._emit_cancelled.connect(self._on_cancelled)

    # --- control ---------------------------------------------------------------------------
    def start(self) -> Worker:
        log.info("%s: started", self.name)
        self._started = True
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask the core to stop at its next ``task.check()``; ``cancelled`` follows."""
        if self.running:
            log.info("%s: cancel requested", self.name)
        self.task.cancel()

    @property
    def running(self) -> bool:
        return self._started and self.outcome is None

    def wait(self, ms: int = 30000) -> bool:
        """Block until the thread ends (for shutdown and tests only; never in a UI handler)."""
        return self._thread.wait(ms)

    # --- relays (UI thread) ----------------------------------------------------------------
    def _on_progress(self, ev: ProgressEvent) -> None:
        if self.outcome is not None:
            return
        self.last_event = ev
        self.progress.emit(ev)

    def _finish(self, outcome: str) -> None:
        self.outcome = outcome
        log.info("%s: %s", self.name, outcome + (f" ({self.error})" if self.error else ""))
        self._thread.wait(5000)
        self.finished.emit()

    def _on_done(self, result: Any) -> None:
        self.result = result
        self.done.emit(result)
        self._finish("done")

    def _on_failed(self, message: str) -> None:
        self.error = message
        self.failed.emit(message)
        self._finish("failed")

    def _on_cancelled(self) -> None:
        self.cancelled.emit()
        self._finish("cancelled")
