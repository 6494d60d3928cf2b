"""The worker pool: decode, hash and compress images on every core, results back in order.

One multiprocessing context (``mp_context``) serves the package writer and the GUI's child
processes, so both start workers the same way.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import sys
from collections import deque
from collections.abc import Iterator

import numpy as np

from ..mapping.apply import Items
from ..problems import UserError
from ..progress import Task
from ..sources.base import ImageRef
from ..sources.pixels import describe
from .worker import encode_one, serve_worker


def mp_context(*, may_fork: bool = True):
    """How worker processes start: the package writer's pool and the GUI's child processes alike.

    ``may_fork=False`` (the GUI): never fork.  A forked copy of a Qt application inherits Qt's
    SIGCHLD handler, which reaps the pack's own worker processes before multiprocessing can
    ("ChildProcessError: No child processes"), so a window started from a user's script gets a
    forkserver too.

    A forkserver where there is one (Linux, macOS): workers start from a small process that has
    imported only the worker module (numpy, blosc2; ~60 MB), so their memory does not grow with
    the scan and mapping the main process holds (forked from a process holding 100,000 images'
    rows and refs, the tree's proportional memory grew by ~200 MB).  A forkserver child imports
    the main script, though, as spawn does: a user's own script that calls ``pack`` without an
    ``if __name__ == "__main__":`` guard would run again in every worker.  So such scripts get
    fork (as before; ``encoded`` freezes the garbage collector around it).  Spawn on Windows.
    """
    import threading

    methods = mp.get_all_start_methods()
    if (
        may_fork
        and "fork" in methods
        and sys.platform.startswith("linux")
        and threading.active_count() == 1
        and not main_is_guarded(sys.modules.get("__main__"))
    ):
        return mp.get_context("fork")
    if "forkserver" in methods:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["aqqua_packer.package.worker"])
        return ctx
    return mp.get_context("spawn")


def start_workers_early() -> None:
    """Start the forkserver now (where workers come from one), so that its imports (numpy, Pillow,
    blosc2: ~0.5 s) overlap the scan and the mapping instead of delaying the first image."""
    if mp_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def main_is_guarded(main) -> bool:
    """Is importing ``__main__`` again in a child harmless?  True for ``python -m ...`` (pytest,
    ``python -m aqqua_packer``), our console script and frozen app, and an interactive session;
    unknown (so False) for any other script."""
    if main is None or getattr(sys, "frozen", False) or getattr(main, "__spec__", None):
        return True
    f = getattr(main, "__file__", None)
    return f is None or os.path.basename(f).lower().startswith("aqqua-packer")


class Refs:
    """(p, ImageRef) for the items still to pack, without a list of them all (flat memory)."""

    def __init__(self, items: Items, work: np.ndarray, start: int):
        self.items, self.work, self.start = items, work, start

    def __len__(self) -> int:
        return len(self.work) - self.start

    def __iter__(self) -> Iterator[tuple[int, ImageRef]]:
        for p in range(self.start, len(self.work)):
            yield p, self.items.ref(self.work[p])


def encoded(
    refs: list[tuple[int, ImageRef]], workers: int, compression: str, task: Task
) -> Iterator[tuple[int, ImageRef, tuple]]:
    """(p, ref, result) for every ref, in order; decoding runs on ``workers`` processes with a bounded
    number of batches in flight (flat memory), and ``task.check()`` is called while waiting.

    A deliberately small pool: one pipe per worker, batches dealt round-robin, so results come
    back in order without a scheduler; a worker that dies shows up as a closed pipe, and stopping
    is terminating our own processes (nothing shared can hang).
    """
    if workers <= 1 or len(refs) <= 4:
        for p, ref in refs:
            task.check()
            yield p, ref, encode_one(ref, compression)
        return

    def batches() -> Iterator[list[tuple[int, ImageRef]]]:
        batch: list[tuple[int, ImageRef]] = []
        size = 0
        for pr in refs:
            batch.append(pr)
            size += pr[1].size
            if len(batch) >= 32 or size >= 8 * 2**20:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    ctx = mp_context()
    workers = min(workers, max(1, len(refs) // 8))
    conns, procs = [], []
    forked = ctx.get_start_method() == "fork"
    try:
        # With fork, keep the children's garbage collector off the parent's objects, or it would
        # touch (and so copy) every page of the scan and the mapping in every worker.
        if forked:
            gc.freeze()
        try:
            for _ in range(workers):
                mine, theirs = ctx.Pipe(duplex=True)
                proc = ctx.Process(
                    target=serve_worker, args=(theirs, os.getpid(), compression), daemon=True
                )
                proc.start()
                theirs.close()
                conns.append(mine)
                procs.append(proc)
        except OSError as exc:
            raise UserError(
                f"Cannot start the worker processes ({exc}). Try --workers 1."
            ) from None
        finally:
            if forked:
                gc.unfreeze()
        inflight: deque = deque()  # (worker index, batch), in submission order
        source = batches()
        turn = 0

        def fill() -> None:
            nonlocal turn
            while len(inflight) < 3 * workers:
                b = next(source, None)
                if b is None:
                    return
                try:
                    conns[turn].send([r for _, r in b])
                except OSError:
                    raise UserError(
                        "A worker process stopped unexpectedly. Run the same command again to continue (or use --workers 1)."
                    ) from None
                inflight.append((turn, b))
                turn = (turn + 1) % workers

        fill()
        while inflight:
            w, b = inflight.popleft()
            while not conns[w].poll(0.1):
                task.check()
                if not procs[w].is_alive() and not conns[w].poll(0):
                    names = "; ".join(describe(r) for _, r in b)
                    raise UserError(
                        f"A worker process died while reading one of these images: {names}. Run again; if it happens again, move that image aside."
                    )
            try:
                results = conns[w].recv()
            except (EOFError, OSError):
                names = "; ".join(describe(r) for _, r in b)
                raise UserError(
                    f"A worker process died while reading one of these images: {names}. Run again; if it happens again, move that image aside."
                ) from None
            task.check()
            fill()
            for (p, ref), res in zip(b, results, strict=True):
                yield p, ref, res
    finally:
        for c in conns:
            try:
                c.send(None)
            except (OSError, ValueError):
                pass
        for proc in procs:  # stop promptly; unfinished batches are simply redone next run
            proc.join(timeout=0.05)
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join(timeout=5)
        for c in conns:
            c.close()
