"""Run core functions off the UI thread, with progress, cancel and error signals.

A ``Worker`` runs ``fn(task)`` in its own ``QThread``.  The ``Task``'s ``on_event`` emits a Qt
signal from the worker thread; because the ``Worker`` lives in the UI thread the signal is queued,
so the UI only ever sees ``ProgressEvent``s in its own thread and never blocks on the core.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from ..problems import UserError
from ..progress import Cancelled, ProgressEvent, Task

log = logging.getLogger("aqqua_packer.gui")
BACKGROUND_NICE = 10


def start_low_priority_process_server() -> None:
    """Start multiprocessing's fork server from a thread of low priority, so that the worker
    processes the packer forks from it inherit that priority and the window keeps a core when the
    machine is busy.  (Lowering the packing *thread* instead would make it hold the GIL while
    descheduled, and the UI thread would wait for it.)  Linux only; elsewhere nothing happens."""
    if not sys.platform.startswith("linux") or not hasattr(os, "setpriority"):
        return
    import multiprocessing as mp

    if "forkserver" not in mp.get_all_start_methods():
        return

    def run() -> None:
        try:
            tid = threading.get_native_id()
            os.setpriority(
                os.PRIO_PROCESS,
                tid,
                min(19, os.getpriority(os.PRIO_PROCESS, tid) + BACKGROUND_NICE),
            )
            from multiprocessing import forkserver

            mp.get_context("forkserver").set_forkserver_preload(["aqqua_packer.package.worker"])
            forkserver.ensure_running()
        except Exception as exc:  # an optimisation only; packing works without it
            log.info("could not start the fork server at low priority: %s", exc)

    t = threading.Thread(target=run, name="forkserver-starter", daemon=True)
    t.start()
    t.join(10)


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
        self,
        fn: Callable[[Task], Any],
        name: str = "task",
        parent: QObject | None = None,
        *,
        background: bool = False,
    ):
        super().__init__(parent)
        self._fn = fn
        self.name = name
        self.background = background  # CPU-heavy: run it (and processes it starts) at low priority
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


# --- work in a separate process ------------------------------------------------------------
def _child_main(fn, args: tuple, queue, cancel_event) -> None:
    """Runs in the child process: ``fn(*args, task=...)``, every event and the outcome queued."""
    task = Task(on_event=lambda ev: queue.put(("progress", ev)))

    parent = os.getppid()

    def watch_cancel() -> None:
        # stop when asked, or when the window's process is gone (killed): no orphan keeps packing
        while not cancel_event.wait(1.0):
            if os.getppid() != parent:
                break
        task.cancel()

    threading.Thread(target=watch_cancel, name="cancel-watch", daemon=True).start()
    try:
        result = fn(*args, task=task)
    except Cancelled:
        queue.put(("cancelled", None))
    except UserError as exc:
        queue.put(("failed", str(exc)))
    except BaseException as exc:  # reported, with the traceback kept for the log
        queue.put(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
    else:
        try:
            queue.put(("done", result))
        except Exception as exc:  # an unpicklable result: say so rather than hang
            queue.put(("error", f"cannot return the result ({exc})"))


class ProcessWorker(Worker):
    """Like ``Worker``, but ``fn(*args, task=...)`` runs in a child process.

    For the heavy steps (pack, verify): libraries such as pandas hold the GIL for long stretches,
    which in a thread would freeze the window; in a child process they cannot.  ``fn`` and
    ``args`` must be picklable (a module-level function and plain data), and so must the result.
    The child starts at low priority where the OS allows, so the window keeps a core.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple = (),
        name: str = "task",
        parent: QObject | None = None,
    ):
        super().__init__(lambda task: None, name=name, parent=parent)
        self._target = fn
        self._args = args
        self._proc = None
        self._reader: threading.Thread | None = None

    def start(self) -> ProcessWorker:
        from ..workflow import mp_context  # the package workers' rule (package/pool.py)

        ctx = mp_context(may_fork=False)  # a forked Qt app reaps the pack's own workers
        self._queue = ctx.Queue()
        self._cancel_event = ctx.Event()
        self._proc = ctx.Process(
            target=_child_main,
            args=(self._target, self._args, self._queue, self._cancel_event),
            name=self.name,
            daemon=False,
        )
        log.info("%s: starting in a separate process", self.name)
        self._started = True
        # Starting a process can wait for the fork server (its first imports take seconds), so it
        # happens in the reader thread, never in the UI thread.
        self._reader = threading.Thread(
            target=self._launch_and_read, name=f"{self.name}-reader", daemon=True
        )
        self._reader.start()
        return self

    def _launch_and_read(self) -> None:
        try:
            self._proc.start()
        except Exception as exc:
            log.error("%s could not start:\n%s", self.name, traceback.format_exc())
            self._emit_failed.emit(f"could not start the {self.name} process ({exc})")
            return
        self._lower_priority(self._proc.pid)
        self._read()

    @staticmethod
    def _lower_priority(pid: int) -> None:
        if hasattr(os, "setpriority"):
            try:
                os.setpriority(
                    os.PRIO_PROCESS,
                    pid,
                    min(19, os.getpriority(os.PRIO_PROCESS, pid) + BACKGROUND_NICE),
                )
            except OSError:
                pass

    def _read(self) -> None:  # reader thread: relays what the child says, as queued signals
        import queue as _q

        while True:
            try:
                kind, payload = self._queue.get(timeout=0.5)
            except _q.Empty:
                if self._proc is not None and not self._proc.is_alive():
                    # the child died without a word (killed, out of memory)
                    try:
                        kind, payload = self._queue.get(timeout=0.5)
                    except _q.Empty:
                        code = self._proc.exitcode
                        self._emit_failed.emit(
                            f"the {self.name} process stopped unexpectedly (exit code {code}); run it again to continue"
                        )
                        return
                else:
                    continue
            if kind == "progress":
                self._emit_progress.emit(payload)
            elif kind == "done":
                self._emit_done.emit(payload)
                return
            elif kind == "cancelled":
                self._emit_cancelled.emit()
                return
            elif kind == "failed":
                self.exception = UserError(payload)
                self._emit_failed.emit(payload)
                return
            else:
                log.error("%s failed:\n%s", self.name, payload)
                self._emit_failed.emit(
                    f"internal error ({payload.splitlines()[0]}); details are in the log"
                )
                return

    def cancel(self) -> None:
        if self.running:
            log.info("%s: cancel requested", self.name)
            self._cancel_event.set()

    def wait(self, ms: int = 30000) -> bool:
        if self._proc is None:
            return True
        if self._reader is not None:
            self._reader.join(min(5.0, ms / 1000))  # until the process has been started
        if self._proc.pid is None:
            return True
        self._proc.join(ms / 1000)
        if self._proc.is_alive():
            return False
        if self._reader is not None:
            self._reader.join(2)
        return True

    def _finish(self, outcome: str) -> None:
        self.outcome = outcome
        log.info("%s: %s", self.name, outcome + (f" ({self.error})" if self.error else ""))
        if self._proc is not None and self._proc.pid is not None:
            self._proc.join(5)
        self.finished.emit()
