"""Background processes with a pid file and a log file, stopped by process group.

Each server runs in its own session (``start_new_session``), so its pid is also the id of
its process group and ``down`` can stop the server together with everything it forked
(PostgreSQL backends, MLflow workers).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

__all__ = [
    "PidFile",
    "spawn",
    "stop_group",
    "port_answers",
    "port_owner",
    "log_tail",
    "wait_until",
]


@dataclass(frozen=True)
class PidFile:
    """``NAME.pid`` holding the pid and its start time, so a recycled pid is not mistaken."""

    path: Path

    def write(self, pid: int) -> None:
        created = psutil.Process(pid).create_time()
        self.path.write_text(json.dumps({"pid": pid, "create_time": created}))

    def read(self) -> tuple[int, float] | None:
        try:
            data = json.loads(self.path.read_text())
            return int(data["pid"]), float(data["create_time"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def running_pid(self) -> int | None:
        """The pid if the recorded process is still alive (and not a zombie), else None."""
        record = self.read()
        if record is None:
            return None
        pid, created = record
        try:
            proc = psutil.Process(pid)
            if abs(proc.create_time() - created) > 1.0:
                return None
            if proc.status() == psutil.STATUS_ZOMBIE:
                _reap(pid)
                return None
        except psutil.Error:
            return None
        return pid

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _die_with_parent() -> None:
    """preexec hook: SIGKILL this child when the parent dies (Linux ``PR_SET_PDEATHSIG``)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except OSError:
        pass


def spawn(
    cmd: list[str],
    log_path: Path,
    pid_file: PidFile,
    *,
    user: str | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    die_with_parent: bool = False,
) -> subprocess.Popen[bytes]:
    """Start ``cmd`` detached in its own session, output appended to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=user,
            env=env,
            cwd=cwd,
            preexec_fn=_die_with_parent if die_with_parent else None,
        )
    pid_file.write(proc.pid)
    return proc


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except (ChildProcessError, OSError):
        pass


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    alive = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.Error:
            continue
    return alive


def _family(pid: int) -> list[psutil.Process]:
    """The process group ``pid`` plus every descendant of ``pid``.

    Descendants matter because some servers move their children to new sessions
    (PostgreSQL backends call ``setsid``), out of reach of ``killpg``.
    """
    members: dict[int, psutil.Process] = {}
    try:
        leader = psutil.Process(pid)
        members[pid] = leader
        members.update((c.pid, c) for c in leader.children(recursive=True))
    except psutil.Error:
        pass
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pid:
                members.setdefault(proc.pid, proc)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return _alive(list(members.values()))


def stop_group(pid: int, sig: int = signal.SIGTERM, timeout_s: float = 15.0) -> bool:
    """Send ``sig`` to process group ``pid``, wait for it and its descendants to exit,
    then SIGKILL whatever is left. Returns True when nothing of it is alive afterwards."""
    family = _family(pid)
    for signum, wait_s in ((sig, timeout_s), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, signum)
        except ProcessLookupError:
            pass
        if signum == signal.SIGKILL:
            for proc in _alive(family):
                try:
                    proc.kill()
                except psutil.Error:
                    pass
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            _reap(pid)
            family = _alive(family) + [p for p in _family(pid) if p not in family]
            if not family:
                return True
            time.sleep(0.05)
    _reap(pid)
    return not _alive(family)


def port_answers(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def port_owner(port: int) -> str:
    """Best-effort description of the process listening on ``port`` (for error messages)."""
    try:
        for conn in psutil.net_connections("tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                if conn.pid:
                    proc = psutil.Process(conn.pid)
                    return f"pid {conn.pid} ({proc.name()})"
    except (psutil.Error, OSError):
        pass
    return "another process"


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.rstrip().splitlines()[-lines:]) or "(empty log)"


def wait_until(probe: Callable[[], bool], timeout_s: float, interval_s: float = 0.1) -> bool:
    """Call ``probe`` until it returns True or ``timeout_s`` passes; exceptions count as False."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if probe():
                return True
        except Exception:  # noqa: BLE001 - a probe failing just means "not yet"
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)
