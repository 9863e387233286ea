"""Your own catalogue and forgetting a user, over HTTP with a real worker running.

* a movie added with ``POST /movies`` is in a new user's list within 1 s (polled);
* ``DELETE /users/{id}`` leaves no rating rows, no cached list and no model state on the
  worker (checked in the checkpoint it writes), and the user's next rating starts from
  nothing.
"""

from __future__ import annotations

import time

import pytest
from api_testing import API_KEY, make_client, random_id
from pydantic import SecretStr

from reelstream.kafka import ensure_topics
from reelstream.models.base import Recommender
from reelstream.settings import Settings
from reelstream.store import EventStore
from reelstream.streaming.process import WorkerProcess
from tests.stream_processor.worker_helpers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
HEADERS = {"X-API-Key": API_KEY}


def _listed(client, user_id: int, movie_id: int) -> bool:
    items = client.get(f"/users/{user_id}/recommendations").json()["items"]
    return movie_id in [item["movie_id"] for item in items]


def test_movies_are_written_with_a_key_and_validated(isolated: Settings) -> None:
    settings = isolated.model_copy(update={"api_key": SecretStr(API_KEY), "environment": "test"})
    movie_id = random_id()
    body = {"movie_id": movie_id, "title": "Our Own Film", "year": 2026, "genres": ["Drama"]}
    with make_client(settings) as client:
        assert client.post("/movies", json=body).status_code == 401
        assert client.post("/movies", json={**body, "year": 1200}, headers=HEADERS).status_code == 422
        assert client.post("/movies", json={**body, "extra": 1}, headers=HEADERS).status_code == 422
        created = client.post("/movies", json=body, headers=HEADERS)
        assert created.status_code == 201 and created.json()["title"] == "Our Own Film"
        assert client.post("/movies", json=body, headers=HEADERS).status_code == 409
        changed = client.put(f"/movies/{movie_id}", headers=HEADERS,
                             json={"title": "Our Own Film, Recut", "genres": ["Drama", "Comedy"]})
        assert changed.status_code == 200
        assert client.get(f"/movies/{movie_id}").json() == {
            "movie_id": movie_id, "title": "Our Own Film, Recut", "genres": ["Drama", "Comedy"],
            "year": None}
        assert client.delete(f"/users/{random_id()}").status_code == 401


def test_a_new_movie_reaches_new_users_and_a_forgotten_user_is_gone(isolated: Settings,
                                                                   tmp_path) -> None:
    settings = isolated.model_copy(update={"api_key": SecretStr(API_KEY), "environment": "test"})
    ensure_topics(settings, {settings.ratings_topic: 2, settings.dlq_topic: 1})
    warm = [{"user_id": u, "movie_id": m, "rating": float(1 + (u + m) % 5)}
            for u in range(1, 21) for m in range(1, 31) if (u * m) % 3 == 0]
    user_id = random_id()
    with WorkerProcess(settings, tmp_path / "worker.log") as worker, \
            make_client(settings) as client:
        worker.wait_ready()
        assert client.post("/ratings/batch", json={"events": warm}, headers=HEADERS).status_code == 202

        # 1. A movie added over the API is in a new user's list within 1 s.
        movie_id = random_id()
        added = client.post("/movies", headers=HEADERS, json={
            "movie_id": movie_id, "title": "Brand New", "year": 2026, "genres": ["Sci-Fi"]})
        assert added.status_code == 201
        newcomer, deadline = random_id(), time.monotonic() + 1.0
        while not _listed(client, newcomer, movie_id) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _listed(client, newcomer, movie_id), "the new movie is not in a new user's list"
        item = next(i for i in client.get(f"/users/{newcomer}/recommendations").json()["items"]
                    if i["movie_id"] == movie_id)
        assert item["title"] == "Brand New" and item["genres"] == ["Sci-Fi"]

        # 2. A user rates, gets a personal list; then is forgotten.
        for movie in (3, 6, movie_id):
            posted = client.post("/ratings", headers=HEADERS,
                                 json={"user_id": user_id, "movie_id": movie, "rating": 4.5})
            assert posted.status_code == 202
        last = posted.json()["event_id"]
        wait_for(lambda: client.get(f"/users/{user_id}/recommendations").json()
                 .get("last_event_id") == last, 60, "the user's personal list")
        forgotten = client.delete(f"/users/{user_id}", headers=HEADERS)
        assert forgotten.status_code == 200, forgotten.text
        answer = forgotten.json()
        assert answer["ratings_deleted"] == 3 and answer["lists_deleted"] is True
        assert answer["workers_notified"] == 1
        (report,) = answer["workers"].values()
        assert report["factors"] == 1 and report["rated"] == 3

        # no rows, no list, no factors anywhere (the worker checkpointed without them)
        assert client.get(f"/users/{user_id}/ratings").json()["count"] == 0
        assert client.get(f"/users/{user_id}/recommendations").json()["source"] == "popular"
        with EventStore(settings.postgres_dsn) as store:
            assert store.user_ratings(user_id) == []
            checkpoint = store.load_checkpoint(settings.worker_id)
        model = Recommender.from_bytes(checkpoint.model)
        assert model.mf.user(user_id)[1] is None and model.rated.count(user_id) == 0
        assert user_id not in model.transitions.history

        # 3. Their next rating starts from nothing: one rated movie, not four.
        again = client.post("/ratings", headers=HEADERS,
                            json={"user_id": user_id, "movie_id": 9, "rating": 3.0})
        wait_for(lambda: client.get(f"/users/{user_id}/recommendations").json()
                 .get("last_event_id") == again.json()["event_id"], 60, "the new list")
        ratings = client.get(f"/users/{user_id}/ratings").json()
        assert ratings["count"] == 1 and ratings["data"][0]["movie_id"] == 9
        # the worker holds one rated movie for them (forgetting again reports its own state)
        again_forgotten = client.delete(f"/users/{user_id}", headers=HEADERS).json()
        assert again_forgotten["ratings_deleted"] == 1
        (report,) = again_forgotten["workers"].values()
        assert report["rated"] == 1
