"""Broker-loss scenarios: Apache Kafka keeps what it acknowledged.

- ``broker-kill``: the embedded broker is SIGKILLed while it holds acknowledged events no worker
  has consumed (the worker is stopped); ``stack up`` starts it again from its log on disk and a
  new worker stores and learns every one of them once.
- ``leader-kill``: a three-node cluster (replication 3, ``min.insync.replicas`` 2) serves the
  stream; the node leading ratings partition 0 is SIGKILLed mid-stream. Producers keep being
  acknowledged, the worker keeps learning, and nothing acknowledged is lost or learned twice.
"""

from __future__ import annotations

import time

from benchmarks.chaos_common import Chaos, finish, first_half_stored, start_worker
from benchmarks.chaos_probe import Outcome, Sender, send, synthetic_events
from reelstream.kafka import default_topics, ensure_topics
from reelstream.schemas import RatingEvent
from reelstream.stack.kafka_cluster import KafkaCluster

__all__ = ["broker_killed", "leader_killed"]


def broker_killed(chaos: Chaos) -> Outcome:
    """kill -9 the broker holding acknowledged, unconsumed events; restart it; none is lost."""
    name = "broker killed (-9) with unconsumed events"
    if chaos.stack is None or "kafka" not in chaos.stack.embedded:
        return Outcome(name, skipped="kafka is not an embedded service here")
    settings = chaos.settings
    events, half, first = first_half_stored(settings, chaos, "broker-kill")
    first.stop()
    send(settings, events[half:])  # acknowledged (acks=all) and consumed by no one
    chaos.stack.kill("kafka")
    chaos.stack.up(["kafka"])
    t_over = time.monotonic()
    worker = start_worker(settings, chaos.log_dir, "broker-kill-after")
    try:
        probe = RatingEvent(user_id=1029, movie_id=7, rating=3.0)
        send(settings, [probe])
    except BaseException:
        worker.stop()  # never leave a worker behind
        raise
    outcome = Outcome(name)
    outcome.worker_exits = int(first.proc is not None and first.proc.returncode not in (0, None))
    outcome.degraded = f"{len(events) - half} acknowledged events waited in the killed broker"
    return finish(outcome, settings, worker, events, probe, t_over)


def leader_killed(chaos: Chaos) -> Outcome:
    """Three brokers; the leader of ratings partition 0 is SIGKILLed mid-stream."""
    name = "partition leader killed (3 brokers, RF 3, min ISR 2)"
    cluster = KafkaCluster(chaos.settings.kafka_dist_dir, chaos.log_dir / "kafka-cluster")
    cluster.start()
    try:
        settings = chaos.settings.model_copy(
            update={
                "kafka_bootstrap_servers": cluster.bootstrap_servers,
                "topic_replication_factor": 3,
                "topic_min_insync_replicas": 2,
            }
        )
        ensure_topics(settings, default_topics(settings))
        events = synthetic_events(chaos.events)
        worker = start_worker(settings, chaos.log_dir, "leader-kill")
        try:
            sender = Sender(settings, events, chaos.per_s)
            sender.start()
            time.sleep(3.0)  # mid-stream
            leaders = cluster.leaders(settings.ratings_topic)
            victim = leaders[0]
            cluster.kill(victim)
            t_over = time.monotonic()
            probe = RatingEvent(user_id=1031, movie_id=2, rating=4.0)
            send(settings, [probe])
            sender.join(300)
            outcome = Outcome(name)
            led = sorted(p for p, n in leaders.items() if n == victim)
            outcome.degraded = f"node {victim} killed, leader of partitions {led}"
            if sender.error is not None:
                outcome.degraded += f"; a send was refused: {sender.error!r}"
        except BaseException:
            worker.stop()  # never leave a worker behind
            raise
        return finish(outcome, settings, worker, events, probe, t_over)
    finally:
        cluster.stop()
