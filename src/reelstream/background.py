"""Processes ``make demo`` leaves running (worker, API, web app), remembered by pid file so
``reelstream demo-down`` stops exactly those and nothing else."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from reelstream.settings import Settings

__all__ = ["remember", "running", "start_api", "stop_all", "wait_http"]

_PREFIX = "demo-"


def _pid_dir(settings: Settings) -> Path:
    path = Path(settings.state_dir) / "pids"
    path.mkdir(parents=True, exist_ok=True)
    return path


def remember(settings: Settings, name: str, pid: int) -> None:
    (_pid_dir(settings) / f"{_PREFIX}{name}.pid").write_text(f"{pid}\n")


def _alive(pid: int) -> psutil.Process | None:
    try:
        proc = psutil.Process(pid)
        return proc if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE else None
    except psutil.Error:
        return None


def running(settings: Settings) -> dict[str, int]:
    """Remembered processes that are still alive, by name."""
    out = {}
    for file in sorted(_pid_dir(settings).glob(f"{_PREFIX}*.pid")):
        pid = int(file.read_text().strip() or 0)
        if pid and _alive(pid):
            out[file.stem.removeprefix(_PREFIX)] = pid
    return out


def stop_all(settings: Settings, timeout_s: float = 30.0) -> dict[str, int]:
    """SIGTERM each remembered process group (the worker checkpoints on it), SIGKILL what is
    still there after ``timeout_s``; returns what was stopped."""
    stopped = running(settings)
    for pid in stopped.values():
        try:
            os.killpg(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(_alive(p) for p in stopped.values()):
        time.sleep(0.2)
    for pid in stopped.values():
        if _alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    for file in _pid_dir(settings).glob(f"{_PREFIX}*.pid"):
        file.unlink(missing_ok=True)
    return stopped


def wait_http(url: str, timeout_s: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")


def start_api(settings: Settings, log_path: Path) -> subprocess.Popen[bytes]:
    """``reelstream api`` in its own session (it outlives this process), answering."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **settings.to_env(), "PYTHONUNBUFFERED": "1"}
    with log_path.open("ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "reelstream.cli", "api"], stdout=log,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
    wait_http(f"http://{settings.api_host}:{settings.api_port}/health", 60, proc)
    return proc
