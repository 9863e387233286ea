"""Run ``reelstream worker`` as a child process (demo, benchmarks, fail-over tests)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Self

from reelstream.processes import Child, ProcessFailed
from reelstream.settings import Settings

__all__ = ["WorkerProcess", "WorkerFailed"]

#: What Faust logs once the worker has its partitions and consumes.
READY_MARKER = "[^Worker]: Ready"


class WorkerFailed(ProcessFailed):
    """The worker exited, or did not become ready in time."""


class WorkerProcess(Child):
    """A worker subprocess configured by ``settings`` (passed as ``REELSTREAM_*`` variables).

    ``stop()`` is graceful (SIGTERM: the worker checkpoints); ``kill()`` is a crash."""

    Failed = WorkerFailed

    def __init__(self, settings: Settings, log_path: Path, *, loglevel: str = "info") -> None:
        env = {**os.environ, **settings.to_env(), "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "reelstream.cli", "worker", "--loglevel", loglevel]
        super().__init__("worker", cmd, log_path, env=env)
        self.settings = settings
        self.started_at = 0.0
        self._ready_before = 0  # markers already in the log (it is appended across restarts)

    def start(self) -> Self:
        self._ready_before = self.log_text().count(READY_MARKER)
        super().start()
        self.started_at = time.monotonic()
        return self

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, timeout_s: float = 60.0) -> float:
        """Block until the worker consumes; return the seconds it took since start."""
        self.wait_for(lambda: self.log_text().count(READY_MARKER) > self._ready_before, timeout_s)
        return time.monotonic() - self.started_at

    def stop(self, timeout_s: float = 30.0) -> int:
        return super().stop(timeout_s)
