"""Processes ``make demo`` leaves running (worker, API, web app), remembered by pid file so
``reelstream demo-down`` stops exactly those and nothing else.

The pid files hold each process's start time besides its pid: a file whose process has ended
and whose pid now belongs to another program is removed without a signal.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx

from reelstream.processes import Child, PidFile, stop_recorded
from reelstream.settings import Settings

__all__ = ["api_process", "remember", "running", "stop_all", "http_ok"]

_PREFIX = "demo-"


def _pid_dir(settings: Settings) -> Path:
    path = Path(settings.state_dir) / "pids"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pid_files(settings: Settings) -> dict[str, PidFile]:
    return {
        file.stem.removeprefix(_PREFIX): PidFile(file)
        for file in sorted(_pid_dir(settings).glob(f"{_PREFIX}*.pid"))
    }


def remember(settings: Settings, name: str, pid: int) -> None:
    PidFile(_pid_dir(settings) / f"{_PREFIX}{name}.pid").write(pid)


def running(settings: Settings) -> dict[str, int]:
    """Remembered processes that are still alive, by name."""
    alive = {name: file.running_pid() for name, file in _pid_files(settings).items()}
    return {name: pid for name, pid in alive.items() if pid is not None}


def stop_all(settings: Settings, timeout_s: float = 30.0) -> dict[str, int]:
    """SIGTERM each remembered process group (the worker checkpoints on it), SIGKILL what is
    still there after ``timeout_s``; returns what was stopped."""
    stopped = {}
    for name, file in _pid_files(settings).items():
        pid = stop_recorded(file, timeout_s)
        if pid is not None:
            stopped[name] = pid
    return stopped


def http_ok(url: str) -> bool:
    """True when ``url`` answers at all (any status)."""
    try:
        httpx.get(url, timeout=1)
        return True
    except httpx.HTTPError:
        return False


def api_process(settings: Settings, log_path: Path) -> Child:
    """``reelstream api`` in its own session (it outlives this process), started and answering."""
    env = {**os.environ, **settings.to_env(), "PYTHONUNBUFFERED": "1"}
    api = Child("the API", [sys.executable, "-m", "reelstream.cli", "api"], log_path, env=env)
    api.start().wait_for(lambda: http_ok(f"http://{settings.api_host}:{settings.api_port}/health"))
    return api
