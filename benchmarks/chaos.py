"""Fault scenarios against a real worker: the fault-injection tests and ``reelstream bench
chaos`` run these same functions.

Each scenario gets a throw-away corner of the stack (its own topics, schema, Redis prefix,
worker id: :func:`benchmarks.scratch.scratch_settings`), starts its own worker, sends
valid events with known ids (and, for ``poison``, bad messages), injects its fault, and
reports by event identity (:class:`~benchmarks.chaos_probe.Outcome`): each valid event
stored once and learned once, each bad message on the dead-letter topic with its error, the
worker never exited, and a rating sent after the fault reaches its user's list (the recovery
time). Outages stop and restart a service of the embedded stack (``EmbeddedStack``); without
one those scenarios are skipped.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.chaos_broker import broker_killed, leader_killed
from benchmarks.chaos_common import Chaos, finish, first_half_stored, start_worker, take_down
from benchmarks.chaos_probe import POISON, Outcome, Sender, send, synthetic_events
from benchmarks.chaos_registry import (
    forget_registry_entries,
    open_registry,
    register_nan_champion,
)
from benchmarks.scratch import scratch_settings
from reelstream.kafka import ensure_topics
from reelstream.schemas import RatingEvent
from reelstream.store import EventStore

__all__ = ["SCENARIOS", "Chaos", "run_scenario"]

log = logging.getLogger(__name__)


def poison(chaos: Chaos) -> Outcome:
    """Bad messages between valid ones: each dead-lettered, the stream goes on."""
    settings = chaos.settings
    events = synthetic_events(chaos.events // 3)
    half = len(events) // 2
    worker = start_worker(settings, chaos.log_dir, "poison")
    send(settings, [*events[:half], *((k, v) for _, k, v in POISON), *events[half:]])
    t_over = time.monotonic()
    probe = RatingEvent(user_id=7, movie_id=3, rating=4.5)
    send(settings, [probe])
    return finish(Outcome("poison"), settings, worker, events, probe, t_over, POISON)


def _outage(service: str) -> Callable[[Chaos], Outcome]:
    def scenario(chaos: Chaos) -> Outcome:
        name = f"{service} down {chaos.outage_s:.0f} s"
        if chaos.stack is None or service not in chaos.stack.embedded:
            return Outcome(name, skipped=f"{service} is not an embedded service here")
        settings = chaos.settings
        events = synthetic_events(chaos.events)
        worker = start_worker(settings, chaos.log_dir, service)
        sender = Sender(settings, events, chaos.per_s)
        sender.start()
        time.sleep(2.0)  # mid-replay
        outcome = Outcome(name)
        t_over = take_down(chaos, service, outcome)
        probe = RatingEvent(user_id=1011, movie_id=5, rating=3.5)
        send(settings, [probe])
        sender.join(300)
        return finish(outcome, settings, worker, events, probe, t_over)

    scenario.__doc__ = f"{service} stopped mid-replay, then started again: waited out."
    return scenario


def processor_killed(chaos: Chaos) -> Outcome:
    """SIGKILL the worker's processor process mid-replay: the worker starts a new one."""
    settings = chaos.settings
    events = synthetic_events(chaos.events)
    worker = start_worker(settings, chaos.log_dir, "processor")
    sender = Sender(settings, events, chaos.per_s)
    sender.start()
    time.sleep(3.0)
    children = Path(f"/proc/{worker.proc.pid}/task/{worker.proc.pid}/children").read_text().split()
    for pid in children:
        os.kill(int(pid), signal.SIGKILL)
    t_over = time.monotonic()
    probe = RatingEvent(user_id=1013, movie_id=9, rating=2.0)
    send(settings, [probe])
    sender.join(300)
    outcome = Outcome("processor process killed")
    return finish(outcome, settings, worker, events, probe, t_over)


def corrupt_checkpoint(chaos: Chaos) -> Outcome:
    """The worker's checkpoint is overwritten with garbage while it is stopped: the restarted
    worker skips it and learns what it stored from PostgreSQL."""
    settings = chaos.settings
    events, half, first = first_half_stored(settings, chaos, "checkpoint")
    time.sleep(1.0)
    first.stop()
    with EventStore(settings.postgres_dsn) as store:
        store.connection.execute(
            "UPDATE worker_checkpoints SET model = %s WHERE name = %s",
            (b"\x80\x05not a model", settings.worker_id),
        )
    worker = start_worker(settings, chaos.log_dir, "checkpoint")
    t_over = time.monotonic()
    send(settings, events[half:])
    probe = RatingEvent(user_id=1017, movie_id=4, rating=5.0)
    send(settings, [probe])
    outcome = Outcome("corrupt checkpoint")
    outcome.worker_exits = int(first.proc is not None and first.proc.returncode not in (0, None))
    return finish(outcome, settings, worker, events, probe, t_over)


def broker_restart(chaos: Chaos) -> Outcome:
    """The broker is stopped cleanly and started again: the worker rejoins by itself and goes
    on; every event acknowledged before or after is stored and learned once."""
    name = f"broker restarted ({chaos.outage_s:.0f} s down)"
    if chaos.stack is None or "kafka" not in chaos.stack.embedded:
        return Outcome(name, skipped="kafka is not an embedded service here")
    settings = chaos.settings
    events, half, worker = first_half_stored(settings, chaos, "broker")
    outcome = Outcome(name)
    t_over = take_down(chaos, "kafka", outcome)
    send(settings, events[half:])
    probe = RatingEvent(user_id=1019, movie_id=6, rating=1.5)
    send(settings, [probe])
    return finish(outcome, settings, worker, events, probe, t_over)


def bad_champion(chaos: Chaos) -> Outcome:
    """A champion whose factors are NaN is registered, promoted and announced: the worker
    refuses it, keeps its model and its promotion listener, and the stream goes on."""
    from reelstream.streaming.promotion import announce_promotion, registry_reachable

    name = "bad champion announced"
    settings = chaos.settings.model_copy(  # a scratch experiment, beside the scratch model name
        update={"mlflow_experiment": f"{chaos.settings.registered_model_name}-chaos"}
    )
    if not registry_reachable(settings):
        return Outcome(name, skipped=f"model registry {settings.mlflow_tracking_uri} not reachable")
    open_registry(settings)
    events, half, worker = first_half_stored(settings, chaos, "champion")
    version = register_nan_champion(settings)
    refused_before = worker.log_text().count("refused")
    announce_promotion(settings, version)
    outcome = Outcome(name)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and worker.log_text().count("refused") == refused_before:
        time.sleep(0.5)
    if worker.log_text().count("refused") > refused_before:
        outcome.degraded = f"champion v{version} refused"
    t_over = time.monotonic()
    send(settings, events[half:])
    probe = RatingEvent(user_id=1023, movie_id=8, rating=4.0)
    send(settings, [probe])
    try:
        return finish(outcome, settings, worker, events, probe, t_over)
    finally:
        forget_registry_entries(settings)


SCENARIOS: dict[str, Callable[[Chaos], Outcome]] = {
    "poison": poison,
    "redis": _outage("redis"),
    "postgres": _outage("postgres"),
    "processor": processor_killed,
    "checkpoint": corrupt_checkpoint,
    "broker": broker_restart,
    "broker-kill": broker_killed,
    "leader-kill": leader_killed,
    "champion": bad_champion,
}


def run_scenario(name: str, chaos: Chaos) -> Outcome:
    """Run one scenario in a scratch corner of ``chaos.settings`` (removed afterwards)."""
    from reelstream.processes import free_port

    with scratch_settings(chaos.settings, "chaos") as settings:
        settings = settings.model_copy(update={"worker_metrics_port": free_port()})
        ensure_topics(settings, {settings.ratings_topic: settings.topic_partitions, settings.dlq_topic: 1})
        corner = Chaos(settings, chaos.stack, chaos.log_dir, chaos.outage_s, chaos.events, chaos.per_s)
        return SCENARIOS[name](corner)
