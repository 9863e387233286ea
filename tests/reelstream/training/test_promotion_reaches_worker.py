"""Promotion reaches a running worker: retrain → register → champion → announce → adopt.

A real ``reelstream worker`` process on the isolated embedded stack, with a ``sqlite:///``
MLflow store shared with the test (the registry needs no server).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from producers.movielens_replay import replay
from reelstream.cache import RecommendationCache
from reelstream.kafka import ensure_topics, make_producer
from reelstream.models import OnlineRecommender
from reelstream.movielens import load_ratings
from reelstream.replay import events_in_time_order
from reelstream.schemas import RatingEvent
from reelstream.store import EventStore
from reelstream.streaming.process import WorkerProcess
from reelstream.streaming.promotion import announce_promotion, promotions_channel
from reelstream.training.data import load_params, postgres_snapshot
from reelstream.training.run import retrain_once
from tests.stream_processor.worker_helpers import stored, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[3]
N = 3000




def checkpointed(settings) -> OnlineRecommender | None:
    with EventStore(settings.postgres_dsn) as store:
        checkpoint = store.load_checkpoint(settings.worker_id)
    return OnlineRecommender.from_bytes(checkpoint.model) if checkpoint else None


@pytest.fixture
def settings(isolated, tmp_path):
    ensure_topics(isolated, {isolated.ratings_topic: 2, isolated.dlq_topic: 1})
    return isolated.model_copy(
        update={
            "mlflow_tracking_uri": f"sqlite:///{tmp_path}/mlflow.db",
            "mlflow_experiment": "promotion-test",
            "registered_model_name": "promotion-test-mf",
        }
    )


def test_promoted_champion_is_adopted_by_the_running_worker(settings, movielens_small, tmp_path):
    ratings = load_ratings(movielens_small)
    events = list(events_in_time_order(ratings, limit=N))
    last = {e.user_id: e for e in events}
    cache = RecommendationCache.from_settings(settings)
    pubsub = redis.Redis.from_url(settings.redis_url)

    with WorkerProcess(settings, tmp_path / "worker.log") as worker:
        worker.wait_ready()
        # The worker looked for a champion at start (none yet) and now listens for promotions.
        wait_for(lambda: pubsub.pubsub_numsub(promotions_channel(settings))[0][1] >= 1, 120,
                 "the worker to subscribe to promotions")
        replay(settings, ratings, limit=N)
        wait_for(lambda: stored(settings) == N, 90, f"{N} stored events")
        wait_for(lambda: all((r := cache.get_user_recommendations(u)) is not None
                             and r.last_event_id == e.event_id for u, e in last.items()),
                 60, "every user's recommendations")
        before = {cache.get_user_recommendations(u).model_version for u in last}
        assert len(before) == 1 and before.pop().startswith("online-")

        # Nightly job, by hand: snapshot → train → register → champion, then announce.
        snapshot = postgres_snapshot(settings.postgres_dsn, datetime(2030, 1, 1, tzinfo=UTC))
        assert len(snapshot) == N
        outcome, _ = retrain_once(snapshot, settings, "2030-01-01T00:00:00+00:00",
                                  load_params(REPO / "params.yaml"))
        assert outcome.promoted and outcome.version == "1"
        assert announce_promotion(settings, outcome.version) == 1  # the worker heard it

        wait_for(lambda: (m := checkpointed(settings)) is not None
                 and m.version == "champion-v1+online", 120, "the worker to adopt champion v1")
        adopted = checkpointed(settings)
        assert adopted.events_learned == N  # the stream state was kept

        # Online learning goes on from the champion; new lists carry its version.
        users = sorted(last)[:5]
        with EventStore(settings.postgres_dsn) as store:
            rated = store.rated_movie_ids(users)
        movie = {u: next(m for m in (1, 2, 3, 4, 5, 6, 7) if m not in rated[u]) for u in users}
        fresh = [RatingEvent(user_id=u, movie_id=movie[u], rating=4.5) for u in users]
        producer = make_producer(settings)
        for event in fresh:
            producer.send(settings.ratings_topic, key=event.key, value=event.to_bytes()).get(10)
        producer.close()
        wait_for(lambda: all((r := cache.get_user_recommendations(e.user_id)) is not None
                             and r.last_event_id == e.event_id for e in fresh),
                 60, "recommendations for the new events")
        for event in fresh:
            recs = cache.get_user_recommendations(event.user_id)
            assert recs.model_version == "champion-v1+online"
            assert event.movie_id not in {r.movie_id for r in recs.items}
    pubsub.close()

    final = checkpointed(settings)  # SIGTERM checkpoints
    assert final.version == "champion-v1+online"
    assert final.events_learned == N + len(fresh)
