"""Every process reelstream starts: spawned, watched, stopped, and found again by pid file.

A process runs in its own session (``start_new_session``), so its pid is also the id of its
process group and stopping it stops everything it forked (PostgreSQL backends, MLflow and
uvicorn workers, the worker's processor). A pid file holds the pid *and* the process's start
time, so a pid the kernel has since given to another program is never signalled.

Used by the embedded stack (servers that outlive ``stack up``), the demo's background worker,
API and web app (stopped by ``demo-down`` from another process), the worker's processor
process, tests and benchmarks (:class:`Child`: a process that lives as long as a block).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import psutil

__all__ = [
    "Child",
    "PidFile",
    "ProcessFailed",
    "die_with_parent",
    "free_port",
    "free_ports",
    "spawn",
    "stop_group",
    "stop_recorded",
    "port_answers",
    "port_owner",
    "log_tail",
    "wait_until",
]


class ProcessFailed(RuntimeError):
    """A child exited, or did not become ready in time (the message ends with its log tail)."""


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


def die_with_parent() -> None:
    """SIGKILL the calling process when its parent dies (Linux ``PR_SET_PDEATHSIG``; a no-op
    elsewhere). A ``preexec_fn`` for :func:`spawn`, or called by a child at its start."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


_die_with_parent = die_with_parent  # spawn's keyword of the same name hides the function


def spawn(
    cmd: Sequence[str],
    log_path: Path,
    pid_file: PidFile | None = None,
    *,
    user: str | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    die_with_parent: bool = False,
) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in its own session, output appended to ``log_path``; record it in
    ``pid_file`` when one is given."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=user,
            env=env,
            cwd=cwd,
            preexec_fn=_die_with_parent if die_with_parent else None,
        )
    if pid_file is not None:
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


def stop_recorded(pid_file: PidFile, timeout_s: float = 15.0) -> int | None:
    """Stop the process group recorded in ``pid_file`` if that very process still runs (same
    pid and start time), then remove the file; returns the pid stopped, if any."""
    pid = pid_file.running_pid()
    if pid is not None:
        stop_group(pid, timeout_s=timeout_s)
    pid_file.remove()
    return pid


def free_ports(n: int) -> list[int]:
    """``n`` distinct loopback ports that were free a moment ago (all bound, then released)."""
    sockets = []
    try:
        for _ in range(n):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_port() -> int:
    """A loopback port nothing listens on now."""
    return free_ports(1)[0]


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
    """The last ``lines`` lines of a log, for an error message."""
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


class Child:
    """A process started by this one in its own session, logging to ``log_path``.

    ``start()`` spawns it, ``wait_for(probe)`` waits until ``probe()`` is true (raising
    :attr:`Failed`, with the log tail, when it exits first or time runs out), ``stop()`` sends
    SIGTERM to its group and SIGKILL after the deadline. As a context manager it is stopped
    when the block ends.
    """

    Failed: type[ProcessFailed] = ProcessFailed

    def __init__(
        self,
        name: str,
        cmd: Sequence[str],
        log_path: Path,
        *,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.cmd = list(cmd)
        self.log_path = Path(log_path)
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        self.proc = spawn(self.cmd, self.log_path, env=self.env)
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def returncode(self) -> int | None:
        return self.proc.poll() if self.proc is not None else None

    def wait_for(self, probe: Callable[[], bool], timeout_s: float = 60.0) -> None:
        """Until ``probe()`` is true (an exception counts as "not yet")."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self.returncode is not None:
                raise self.Failed(f"{self.name} exited with {self.returncode}:\n{self.tail()}")
            try:
                if probe():
                    return
            except Exception:  # noqa: BLE001 - a probe failing just means "not yet"
                pass
            if time.monotonic() >= deadline:
                raise self.Failed(f"{self.name} not ready after {timeout_s:.0f} s:\n{self.tail()}")
            time.sleep(0.1)

    def stop(self, timeout_s: float = 15.0) -> int:
        """SIGTERM to the group, SIGKILL after ``timeout_s``; the leader's exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
        code = self.proc.wait(10)
        stop_group(self.proc.pid, timeout_s=5.0)  # whatever of the group outlived its leader
        return code

    def kill(self) -> int:
        """SIGKILL to the group at once, as a crash would: no checkpoint, no goodbye."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self._signal(signal.SIGKILL)
        return self.proc.wait(10)

    def _signal(self, signum: int) -> None:
        try:
            os.killpg(self.proc.pid, signum)  # type: ignore[union-attr]
        except ProcessLookupError:
            pass

    def tail(self, lines: int = 30) -> str:
        return log_tail(self.log_path, lines)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
