"""What the chaos scenarios share: where they run, their worker, and the final count by
event identity (:mod:`benchmarks.chaos`, :mod:`benchmarks.chaos_broker`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.chaos_probe import (
    Outcome,
    dead_letters,
    degraded_reason,
    learned,
    promotion_listeners,
    send,
    stored_ids,
    synthetic_events,
    wait_for_list,
)
from reelstream.schemas import RatingEvent
from reelstream.settings import Settings
from reelstream.stack import EmbeddedStack
from reelstream.streaming.process import WorkerProcess

__all__ = ["Chaos", "start_worker", "wait_stored", "finish", "first_half_stored", "take_down"]


@dataclass
class Chaos:
    """Where a scenario runs: the stack's settings (a scratch corner of them), the embedded
    stack to stop services of (None: not embedded), and where worker logs go."""

    settings: Settings
    stack: EmbeddedStack | None
    log_dir: Path
    outage_s: float = 15.0
    events: int = 3000
    per_s: float = 250.0  # the replay rate the outages land in


def start_worker(settings: Settings, log_dir: Path, name: str) -> WorkerProcess:
    worker = WorkerProcess(settings, log_dir / f"chaos-{name}.log").start()
    worker.wait_ready(90)
    return worker


def wait_stored(settings: Settings, ids: list, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and len(stored_ids(settings, ids)) < len(ids):
        time.sleep(0.5)


def finish(
    outcome: Outcome, settings: Settings, worker: WorkerProcess, events: list[RatingEvent],
    probe: RatingEvent, t_fault_over: float, bad: list[tuple[str, bytes | None, bytes | None]] = (),
) -> Outcome:
    """Measure the recovery, wait for everything, stop the worker, count by identity."""
    if wait_for_list(settings, probe, 120) is not None:  # returns as soon as the list has it
        outcome.recover_s = time.monotonic() - t_fault_over
    ids = [e.event_id for e in events] + [probe.event_id]
    wait_stored(settings, ids, 120)
    time.sleep(1.0)  # the last batch: learned and cached after its insert
    outcome.promotion_listeners = promotion_listeners(settings)
    outcome.worker_exits += int(worker.proc is not None and worker.proc.poll() is not None)
    worker.stop()
    outcome.sent = len(ids)
    outcome.stored = len(stored_ids(settings, ids))
    outcome.learned = learned(settings)
    if bad:
        outcome.bad = len(bad)
        letters = dead_letters(settings)
        for name, _, value in bad:
            found = [h for v, h in letters if v == (value or b"")]
            if found:
                outcome.dead_lettered += 1
                outcome.errors[name] = found[0].get("reelstream.error", b"").decode(errors="replace")
    return outcome


def first_half_stored(
    settings: Settings, chaos: Chaos, label: str
) -> tuple[list[RatingEvent], int, WorkerProcess]:
    """A worker of its own, and the first half of this scenario's events stored by it."""
    events = synthetic_events(chaos.events // 3)
    half = len(events) // 2
    worker = start_worker(settings, chaos.log_dir, label)
    send(settings, events[:half])
    wait_stored(settings, [e.event_id for e in events[:half]], 60)
    return events, half, worker


def take_down(chaos: Chaos, service: str, outcome: Outcome) -> float:
    """Stop ``service`` for the outage, noting what the worker reports meanwhile; start it
    again and return when that was."""
    chaos.stack.down([service])
    try:
        back_at = time.monotonic() + chaos.outage_s
        while time.monotonic() < back_at:
            outcome.degraded = outcome.degraded or degraded_reason(chaos.settings)
            time.sleep(0.5)
    finally:
        chaos.stack.up([service])
    return time.monotonic()
