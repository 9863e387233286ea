"""Spawning, readiness, stopping by process group, and pid files that outlive a pid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from reelstream.processes import Child, PidFile, ProcessFailed, stop_recorded

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
#: Starts a grandchild in the same process group and prints its pid.
PARENT = [
    sys.executable, "-c",
    "import subprocess, sys, time; "
    "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
    "print(c.pid, flush=True); time.sleep(60)",
]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen(SLEEPER, start_new_session=True)


def _record(path: Path, pid: int, create_time: float) -> PidFile:
    path.write_text(json.dumps({"pid": pid, "create_time": create_time}))
    return PidFile(path)


def test_demo_down_never_signals_a_process_whose_start_time_differs(tmp_path: Path) -> None:
    """The pid in a demo pid file now belongs to another process (its start time differs):
    ``reelstream demo-down`` removes the file and leaves that process alone."""
    stranger = _sleeper()
    try:
        pids = tmp_path / "pids"
        pids.mkdir()
        started = psutil.Process(stranger.pid).create_time()
        _record(pids / "demo-api.pid", stranger.pid, started - 30.0)
        (pids / "demo-ui.pid").write_text(f"{stranger.pid}\n")  # a bare pid: no start time
        env = {**os.environ, "REELSTREAM_STATE_DIR": str(tmp_path)}
        out = subprocess.run(
            [sys.executable, "-m", "reelstream.cli", "demo-down"],
            env=env, capture_output=True, text=True, timeout=60, check=True,
        ).stdout
        assert "nothing left running by the demo" in out
        assert stranger.poll() is None and _alive(stranger.pid)
        assert list(pids.glob("*.pid")) == []
    finally:
        stranger.kill()
        stranger.wait(5)


def test_stop_recorded_stops_the_recorded_process(tmp_path: Path) -> None:
    proc = _sleeper()
    pid_file = PidFile(tmp_path / "x.pid")
    pid_file.write(proc.pid)
    assert pid_file.running_pid() == proc.pid
    assert stop_recorded(pid_file, timeout_s=5) == proc.pid
    proc.wait(5)
    assert not _alive(proc.pid)
    assert not pid_file.path.exists() and pid_file.running_pid() is None


def test_a_child_that_exits_before_ready_fails_with_its_log_tail(tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", "print('cannot bind'); raise SystemExit(3)"]
    with Child("server", cmd, tmp_path / "server.log") as child:
        with pytest.raises(ProcessFailed, match=r"server exited with 3:[\s\S]*cannot bind"):
            child.wait_for(lambda: False, timeout_s=10)


def test_a_child_not_ready_in_time_fails(tmp_path: Path) -> None:
    with Child("sleeper", SLEEPER, tmp_path / "sleeper.log") as child:
        with pytest.raises(ProcessFailed, match="not ready after 0 s"):
            child.wait_for(lambda: False, timeout_s=0.3)
    assert child.returncode == -signal.SIGTERM


def test_stop_ends_the_whole_group_and_kill_is_sigkill(tmp_path: Path) -> None:
    log = tmp_path / "parent.log"
    child = Child("parent", PARENT, log).start()
    child.wait_for(lambda: log.read_text().strip().splitlines()[-1].isdigit(), timeout_s=20)
    grandchild = int(log.read_text().strip().splitlines()[-1])
    assert _alive(grandchild)
    assert child.stop(timeout_s=5) == -signal.SIGTERM
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)

    killed = Child("sleeper", SLEEPER, tmp_path / "sleeper.log").start()
    assert killed.kill() == -signal.SIGKILL
