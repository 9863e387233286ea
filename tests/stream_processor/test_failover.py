"""Fail-over: three workers in one group, one SIGKILLed mid-replay (issue 6)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from producers.movielens_replay import ReplayFailed, replay
from reelstream.cache import RecommendationCache
from reelstream.kafka import ensure_topics
from reelstream.movielens import load_ratings
from reelstream.replay import events_in_time_order
from reelstream.store import EventStore
from reelstream.streaming.process import WorkerProcess
from tests.stream_processor.worker_helpers import log_tails, stored, wait_for

pytestmark = pytest.mark.slow


def test_killed_workers_partitions_move_and_nothing_is_lost(isolated, movielens_small, tmp_path):
    n = 8000
    settings = isolated.model_copy(update={"topic_partitions": 6})
    ensure_topics(settings, {settings.ratings_topic: 6, settings.dlq_topic: 1})
    ratings = load_ratings(movielens_small)
    workers = [
        WorkerProcess(
            settings.model_copy(update={"worker_id": f"{settings.worker_id}-{i}"}),
            tmp_path / f"worker{i}.log",
        ).start()
        for i in range(3)
    ]
    publisher = ThreadPoolExecutor(1)
    try:
        for worker in workers:
            worker.wait_ready()
        published = publisher.submit(publish, settings, ratings, n)
        wait_for(lambda: stored(settings) >= n // 4, 120, "a quarter of the events stored")
        workers[0].kill()
        assert published.result(180) == n  # a failed publish says why here, not as a time-out
        wait_for(lambda: stored(settings) == n, 180, f"all {n} events stored by the survivors",
                 lambda: f"stored {stored(settings)}\n{log_tails(workers)}")
        for survivor in workers[1:]:  # assigned at start, then again after the kill
            wait_for(
                lambda w=survivor: w.log_text().count("Setting newly assigned partitions") >= 2,
                60,
                "the survivors to take over the killed worker's partitions",
            )
    finally:
        publisher.shutdown(cancel_futures=True)
        for worker in workers[1:]:
            worker.stop()

    assert stored(settings) == n  # exactly once: the event id is the primary key
    events = list(events_in_time_order(ratings, limit=n))
    last = {e.user_id: e for e in events}
    with EventStore(settings.postgres_dsn) as store:
        rated = store.rated_movie_ids(last)
    cache = RecommendationCache.from_settings(settings)
    for user_id, event in last.items():
        recs = cache.get_user_recommendations(user_id)
        assert recs is not None, f"user {user_id} has no recommendations"
        assert recs.last_event_id == event.event_id, f"user {user_id} misses their last rating"
        assert not {r.movie_id for r in recs.items} & rated[user_id]


def publish(settings, ratings, n: int) -> int:
    """Replay the first ``n`` events; what the broker did not acknowledge is sent again, as a
    producer must (stable event ids: what was already stored is not stored twice)."""
    for _ in range(3):
        try:
            return replay(settings, ratings, limit=n, speed=None).acknowledged
        except ReplayFailed as exc:
            failure = exc
    raise failure
