"""Run ``reelstream worker`` as a child process (demo, benchmarks, fail-over tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from reelstream.settings import Settings

__all__ = ["WorkerProcess", "WorkerFailed"]

#: What Faust logs once the worker has its partitions and consumes.
READY_MARKER = "[^Worker]: Ready"


class WorkerFailed(RuntimeError):
    """The worker exited, or did not become ready in time."""


class WorkerProcess:
    """A worker subprocess configured by ``settings`` (passed as ``REELSTREAM_*`` variables)."""

    def __init__(self, settings: Settings, log_path: Path, *, loglevel: str = "info") -> None:
        self.settings = settings
        self.log_path = Path(log_path)
        self.loglevel = loglevel
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self._ready_before = 0  # markers already in the log (it is appended across restarts)

    def start(self) -> WorkerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._ready_before = self.log_text().count(READY_MARKER)
        env = {**os.environ, **self.settings.to_env(), "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "reelstream.cli", "worker", "--log-level", self.loglevel],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self.started_at = time.monotonic()
        return self

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, timeout_s: float = 60.0) -> float:
        """Block until the worker consumes; return the seconds it took since start."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise WorkerFailed(f"worker exited with {self.proc.returncode}:\n{self._tail()}")
            if self.log_text().count(READY_MARKER) > self._ready_before:
                return time.monotonic() - self.started_at
            time.sleep(0.1)
        raise WorkerFailed(f"worker not ready after {timeout_s:.0f} s:\n{self._tail()}")

    def stop(self, timeout_s: float = 30.0) -> int:
        """Graceful stop (SIGTERM: the worker checkpoints); SIGKILL if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return self.kill()

    def kill(self) -> int:
        """SIGKILL, as a crash would: no checkpoint, no goodbye."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(10)

    def _tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
