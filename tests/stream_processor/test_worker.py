"""The Faust worker as a real process on the embedded stack: Kafka → PostgreSQL + model + Redis."""

from __future__ import annotations

import threading
import time

import httpx
import orjson
import pytest
import redis
from kafka import TopicPartition

from producers.movielens_replay import replay
from reelstream.processes import free_port
from reelstream.cache import RecommendationCache
from reelstream.kafka import ensure_topics, make_consumer, make_producer
from reelstream.movielens import load_movies, load_ratings
from reelstream.replay import events_in_time_order
from reelstream.schemas import RatingEvent
from reelstream.store import EventStore
from reelstream.streaming.process import WorkerProcess
from reelstream.worker_status import read_statuses, recent_dead_letters
from tests.stream_processor.worker_helpers import learned, stored, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def ratings(movielens_small):
    return load_ratings(movielens_small)


@pytest.fixture
def settings(isolated):
    ensure_topics(isolated, {isolated.ratings_topic: 4, isolated.dlq_topic: 1})
    return isolated


def test_replayed_slice_lands_in_postgres_and_redis_once(settings, ratings, movielens_small, tmp_path):
    n = 3000
    settings = settings.model_copy(update={"worker_metrics_port": free_port()})
    with EventStore(settings.postgres_dsn) as store:  # titles for the default pages
        store.upsert_movies(load_movies(movielens_small))
    with WorkerProcess(settings, tmp_path / "worker.log") as worker:
        worker.wait_ready()
        replay(settings, ratings, limit=n)
        wait_for(lambda: stored(settings) == n, 90, f"{n} stored events")

        # a malformed message goes to the DLQ with the error; the worker keeps going
        producer = make_producer(settings)
        producer.send(settings.ratings_topic, key=b"1", value=b'{"user_id": 1, "rating": 9}').get(10)
        extra = RatingEvent(user_id=1, movie_id=1, rating=4.0)
        producer.send(settings.ratings_topic, key=extra.key, value=extra.to_bytes()).get(10)
        # a duplicate: the whole slice again changes nothing
        replay(settings, ratings, limit=n)
        producer.close()
        wait_for(lambda: stored(settings) == n + 1, 60, "the event after the malformed one")

        consumer = make_consumer(settings, None)
        consumer.assign([TopicPartition(settings.dlq_topic, 0)])
        consumer.seek_to_beginning()
        records = [r for batch in consumer.poll(timeout_ms=10_000).values() for r in batch]
        consumer.close()
        assert [r.value for r in records] == [b'{"user_id": 1, "rating": 9}']
        headers = dict(records[0].headers)
        assert b"movie_id" in headers["reelstream.error"] and b"rating" in headers["reelstream.error"]
        time.sleep(2)  # let redelivered duplicates drain
        metrics = httpx.get(f"http://127.0.0.1:{settings.worker_metrics_port}/metrics").text
        assert f'reelstream_worker_events_total{{outcome="stored"}} {float(n + 1)}' in metrics
        assert 'reelstream_worker_dead_letters_total{stage="validate"} 1.0' in metrics
        assert "reelstream_worker_heartbeat_timestamp_seconds" in metrics
        assert 'reelstream_worker_consumer_lag{partition="0"}' in metrics
        assert "reelstream_worker_newest_learned_event_age_seconds" in metrics
        # the heartbeat in Redis: what /health and `stack status` read
        client = redis.Redis.from_url(settings.redis_url)
        wait_for(
            lambda: any(s.events_learned == n + 1 for s in read_statuses(client, settings.redis_prefix)),
            10, "a heartbeat with every event learned",
        )
        [status] = read_statuses(client, settings.redis_prefix)
        assert (status.worker_id, status.state, status.reason) == (settings.worker_id, "ok", None)
        assert set(status.lag) == {0, 1, 2, 3} and status.heartbeat_age_s() < 5
        assert status.events_stored == n + 1 and status.dead_letters == 1
        assert status.metrics_url and status.metrics_url.endswith(f":{settings.worker_metrics_port}/metrics")
        [note] = recent_dead_letters(client, settings.redis_prefix)
        assert note.stage == "validate" and note.preview == '{"user_id": 1, "rating": 9}'
        client.close()
    assert stored(settings) == n + 1
    assert learned(settings, settings.worker_id) == n + 1  # duplicates were not learned

    cache = RecommendationCache.from_settings(settings)
    events = list(events_in_time_order(ratings, limit=n))
    last = {e.user_id: e for e in events}
    last[1] = extra
    with EventStore(settings.postgres_dsn) as store:
        rated = store.rated_movie_ids(last)
    for user_id, event in last.items():
        recs = cache.get_user_recommendations(user_id)
        assert recs is not None, user_id
        assert recs.last_event_id == event.event_id
        # at most top_n; fewer only when the movies known then were nearly all rated by the user
        assert 1 <= len(recs.items) <= settings.top_n
        assert not {r.movie_id for r in recs.items} & rated[user_id]
        page = orjson.loads(cache.client.get(cache.page_key(user_id)))  # written with the list
        assert page["last_event_id"] == str(event.event_id)
        assert [i["movie_id"] for i in page["items"]] == [r.movie_id for r in recs.items][:10]
        assert all(i["title"] for i in page["items"])
    assert cache.get_popular(10)
    assert any(cache.get_similar(e.movie_id) for e in events[-50:])  # recently rated movies


def test_sigkill_mid_stream_loses_nothing_and_learns_each_event_once(settings, ratings, tmp_path):
    n = 6000
    settings = settings.model_copy(update={"checkpoint_every_events": 700})
    publisher = threading.Thread(target=replay, args=(settings, ratings), kwargs={"limit": n})
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    worker.wait_ready()
    publisher.start()
    wait_for(lambda: stored(settings) >= 1500, 90, "the worker to be mid-stream")
    worker.kill()
    killed_at = stored(settings)
    assert killed_at < n

    restarted = WorkerProcess(settings, tmp_path / "worker.log").start()
    restarted.wait_ready()
    publisher.join(120)
    wait_for(lambda: stored(settings) == n, 120, f"all {n} events stored")
    time.sleep(2)
    restarted.stop()

    assert stored(settings) == n
    assert learned(settings, settings.worker_id) == n
    assert "caught up from PostgreSQL" in restarted.log_text()


def test_two_workers_in_one_group_keep_every_user_correct(settings, ratings, tmp_path):
    n = 4000
    workers = [
        WorkerProcess(
            settings.model_copy(update={"worker_id": f"{settings.worker_id}-{i}"}),
            tmp_path / f"worker{i}.log",
        ).start()
        for i in range(2)
    ]
    try:
        for worker in workers:
            worker.wait_ready()
        replay(settings, ratings, limit=n)
        wait_for(lambda: stored(settings) == n, 120, f"{n} stored events")
        time.sleep(2)
    finally:
        for worker in workers:
            worker.stop()

    per_worker = [learned(settings, w.settings.worker_id) for w in workers]
    assert sum(per_worker) == n and all(per_worker)  # the partitions were shared
    cache = RecommendationCache.from_settings(settings)
    events = list(events_in_time_order(ratings, limit=n))
    last = {e.user_id: e for e in events}
    with EventStore(settings.postgres_dsn) as store:
        rated = store.rated_movie_ids(last)
    for user_id, event in last.items():
        recs = cache.get_user_recommendations(user_id)
        assert recs is not None and recs.last_event_id == event.event_id
        assert not {r.movie_id for r in recs.items} & rated[user_id]
