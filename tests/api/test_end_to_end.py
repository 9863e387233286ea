"""Post ratings over HTTP with a real worker running: they reach PostgreSQL and the user's
recommendations change to include them (the issue's end-to-end acceptance test)."""

from __future__ import annotations

import pytest
from api_testing import API_KEY, make_client
from pydantic import SecretStr

from reelstream.kafka import ensure_topics
from reelstream.settings import Settings
from reelstream.store import EventStore
from reelstream.streaming.process import WorkerProcess
from tests.stream_processor.worker_helpers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]




def test_post_rating_reaches_postgres_and_changes_recommendations(isolated: Settings, tmp_path) -> None:
    settings = isolated.model_copy(update={"api_key": SecretStr(API_KEY), "environment": "test"})
    ensure_topics(settings, {settings.ratings_topic: 2, settings.dlq_topic: 1})
    headers = {"X-API-Key": API_KEY}
    # other users' ratings so the model knows some movies
    warm = [
        {"user_id": u, "movie_id": m, "rating": float(1 + (u + m) % 5)}
        for u in range(1, 21) for m in range(1, 31) if (u * m) % 3 == 0
    ]
    user_id = 7777
    with WorkerProcess(settings, tmp_path / "worker.log") as worker, make_client(settings) as client:
        worker.wait_ready()
        before = client.get(f"/users/{user_id}/recommendations").json()
        assert before["source"] == "popular"  # nothing known about the user yet

        assert client.post("/ratings/batch", json={"events": warm}, headers=headers).status_code == 202
        posted = client.post(
            "/ratings", json={"user_id": user_id, "movie_id": 3, "rating": 5.0}, headers=headers
        )
        assert posted.status_code == 202
        event_id = posted.json()["event_id"]

        def in_postgres() -> bool:
            with EventStore(settings.postgres_dsn) as store:
                return any(str(r.event_id) == event_id for r in store.user_ratings(user_id))

        wait_for(in_postgres, 60, "the posted rating in PostgreSQL")
        wait_for(
            lambda: client.get(f"/users/{user_id}/recommendations").json()["last_event_id"] == event_id,
            60,
            "recommendations that include the posted rating",
        )
        after = client.get(f"/users/{user_id}/recommendations").json()
        ratings = client.get(f"/users/{user_id}/ratings").json()

    assert after["source"] == "personal" and after["items"]
    assert 3 not in [item["movie_id"] for item in after["items"]]  # rated movies are not recommended
    assert ratings["count"] == 1 and ratings["data"][0]["event_id"] == event_id
