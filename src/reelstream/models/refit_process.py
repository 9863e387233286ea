"""Where a worker's item-item refits run: one child process, at the lowest priority, throttled.

A refit (an EASE fit, ~0.4 s of CPU at 2,000 movies) must not stop the stream: it runs in a
spawned child, so it never holds the worker's GIL, at nice 19 with one BLAS thread. On a
machine whose cores the stream keeps busy that is not enough: any CPU taken beside the stream,
whatever its priority, shows in its latency tail. So while a fit is in flight, a thread of
the worker lets the child run :data:`RUN_S` and stops it (``SIGSTOP``) for :data:`PAUSE_S`,
a quarter of a core at most: the fit takes four times as long and the stream barely notices
(figures: ``docs/performance.md``).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

from threadpoolctl import threadpool_limits

from reelstream.processes import die_with_parent

__all__ = ["PAUSE_S", "RUN_S", "RefitProcess"]

#: While a fit is in flight, the child runs this long, then is stopped for :data:`PAUSE_S`.
RUN_S = 0.01
PAUSE_S = 0.03


def _start() -> None:
    """Nice 19 (the stream's processes come first), one BLAS thread, gone with the worker."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides when to stop
    os.nice(19)
    threadpool_limits(1, user_api="blas")


class RefitProcess(Executor):
    """A one-process pool whose jobs run throttled (module docstring)."""

    def __init__(self, run_s: float = RUN_S, pause_s: float = PAUSE_S) -> None:
        self.run_s, self.pause_s = run_s, pause_s
        self._pool: ProcessPoolExecutor | None = None  # started by the first job
        self._pid: Future[int] | None = None

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Run ``fn(*args)`` in the child, throttled until it is done; raises
        ``BrokenProcessPool`` when the child died."""
        if self._pool is None:  # not with the worker: its start has better use for the CPU
            self._pool = ProcessPoolExecutor(
                1, multiprocessing.get_context("spawn"), initializer=_start
            )
            self._pid = self._pool.submit(os.getpid)  # which process to throttle
        future = self._pool.submit(fn, *args, **kwargs)
        threading.Thread(
            target=self._throttle, args=(future, self._pid), name="refit-throttle", daemon=True
        ).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def _throttle(self, job: Future, child: Future[int]) -> None:
        try:
            pid = child.result()
        except Exception:  # noqa: BLE001 - the child died: the job fails and says so
            return
        while not job.done():
            time.sleep(self.run_s)
            if job.done():
                return
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                return
            try:
                time.sleep(self.pause_s)
            finally:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    return
