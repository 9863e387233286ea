"""Waiting until a just-started (or found-running) service of the stack really answers."""

from __future__ import annotations

import subprocess
import time

from reelstream.processes import PidFile, log_tail, stop_group, wait_until
from reelstream.stack.base import Service, ServiceStatus, StackError

__all__ = ["Vanished", "wait_ready"]


class Vanished(Exception):
    """A service seen running exited before it answered: start it again."""


def wait_ready(
    svc: Service,
    pid_file: PidFile,
    proc: subprocess.Popen[bytes] | None,
    t0: float,
    timeout_s: float | None = None,
    *,
    note: str | None = None,
) -> ServiceStatus:
    """Wait until ``svc`` answers a real request; ``proc`` is the process just spawned, None
    for one found running (its pid file says which). A server that exits or does not answer
    in time is a :class:`StackError` with its log tail (one that did not answer is stopped)."""
    name = svc.name
    timeout_s = svc.start_timeout_s if timeout_s is None else timeout_s

    def answered_or_exited() -> bool:
        if proc is not None and proc.poll() is not None:
            return True
        if proc is None and pid_file.running_pid() is None:
            return True
        return svc.ready()

    ok = wait_until(answered_or_exited, timeout_s, interval_s=0.1)
    exited = (proc.poll() is not None) if proc is not None else pid_file.running_pid() is None
    if proc is None and exited:
        raise Vanished(name)
    if exited or not ok:
        why = (
            f"exited with code {proc.returncode}"
            if proc is not None and exited
            else f"did not answer within {timeout_s:.0f}s (raise it with --timeout)"
        )
        if proc is not None and not exited:  # do not leave a half-started server behind
            stop_group(proc.pid, svc.stop_signal, timeout_s=5)
        pid_file.remove()
        raise StackError(
            f"{name}: {why}; log {svc.log_path}:\n{log_tail(svc.log_path)}"
        )
    notes = [n for n in (note, svc.after_up()) if n]
    return ServiceStatus(
        name,
        svc.url,
        "started" if proc is not None else "already running",
        pid=pid_file.running_pid(),
        seconds=time.monotonic() - t0,
        note="; ".join(notes) or None,
    )
