"""The worker's heartbeat in the real Redis of the embedded stack (no worker process)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from types import SimpleNamespace

import redis

from reelstream.models import OnlineRecommender
from reelstream.streaming.heartbeat import Heartbeat
from reelstream.streaming.messages import DeadLetter, RawMessage
from reelstream.streaming.metrics import CONSUMER_LAG
from reelstream.streaming.resilience import Health
from reelstream.worker_status import read_statuses, recent_dead_letters


def _statuses(settings):
    client = redis.Redis.from_url(settings.redis_url)
    return {s.worker_id: s for s in read_statuses(client, settings.redis_prefix)}, client


def test_status_lag_reason_and_dead_letters_reach_redis(worker_settings):
    health = Health()
    beat = Heartbeat(worker_settings, "http://worker:18001/metrics", health)
    assert beat.beat().state == "starting"  # recovering: no processor yet

    newest = datetime(2021, 3, 4, tzinfo=UTC)
    beat.processor = SimpleNamespace(
        model=OnlineRecommender(), totals={"stored": 10, "duplicates": 2, "dead_letters": 1},
        newest_learned_at=newest,
    )
    beat.from_worker({"lag": {0: 5, 1: 0}, "reason": None, "restarts": 0})
    beat.note_dead_letters(
        [DeadLetter(RawMessage(b"[1]", b"1", "ratings", 1, n), f"error {n}", "validate") for n in (7, 8)]
    )
    beat.beat()
    statuses, client = _statuses(worker_settings)
    status = statuses[worker_settings.worker_id]
    assert (status.state, status.lag, status.events_stored, status.dead_letters) == ("ok", {0: 5, 1: 0}, 10, 1)
    assert status.newest_learned_event_at == newest
    assert status.metrics_url == "http://worker:18001/metrics"
    notes = recent_dead_letters(client, worker_settings.redis_prefix)
    assert [(n.offset, n.error, n.preview) for n in notes] == [(8, "error 8", "[1]"), (7, "error 7", "[1]")]
    assert CONSUMER_LAG.labels("0")._value.get() == 5

    health.degraded("PostgreSQL", "OperationalError: refused")
    beat.from_worker({"lag": {0: 9}, "reason": "dead-letter topic: KafkaTimeoutError"})
    beat.beat()
    status = _statuses(worker_settings)[0][worker_settings.worker_id]
    assert status.state == "degraded"
    assert status.reason == "PostgreSQL: OperationalError: refused; dead-letter topic: KafkaTimeoutError"
    assert status.lag == {0: 9}
    assert ("1",) not in CONSUMER_LAG._metrics  # a partition no longer assigned is dropped
    client.close()


def test_a_redis_outage_skips_beats_and_logs_once(worker_settings, caplog):
    dead = worker_settings.model_copy(update={"redis_url": "redis://127.0.0.1:9/0"})
    beat = Heartbeat(dead, None, Health())
    with caplog.at_level(logging.WARNING, "reelstream.streaming.heartbeat"):
        for _ in range(3):
            assert beat.beat().state == "starting"  # no exception
    assert sum("heartbeat not published" in r.message for r in caplog.records) == 1
