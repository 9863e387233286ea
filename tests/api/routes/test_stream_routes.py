"""GET /stream/stats: worker heartbeats, lag, dead letters and the API's own counters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_testing import closed_port, make_client, random_id
from fastapi.testclient import TestClient

from api.bodies import StreamStats
from reelstream.cache import RecommendationCache
from reelstream.settings import Settings
from reelstream.worker_status import (
    DeadLetterNote,
    WorkerStatus,
    publish_status,
    record_dead_letters,
)

pytestmark = pytest.mark.integration


def test_stats_show_workers_dead_letters_and_api_counters(
    client: TestClient, cache: RecommendationCache, api_settings: Settings, auth: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    prefix = api_settings.redis_prefix
    publish_status(cache.client, prefix, WorkerStatus(
        "w-live", "ok", now, model_version="champion-v2+online", lag={0: 3, 1: 4},
        newest_learned_event_at=now - timedelta(seconds=2), events_stored=100,
        events_learned=98, dead_letters=1,
    ))
    publish_status(cache.client, prefix, WorkerStatus("w-stalled", "ok", now - timedelta(minutes=5)))
    record_dead_letters(cache.client, prefix, [
        DeadLetterNote(now, "invalid rating 7", "parse", "ratings", 1, 42, '{"rating": 7}')
    ])
    client.get(f"/users/{random_id()}/recommendations")
    client.post("/ratings", json={"user_id": 1, "movie_id": 1, "rating": 9}, headers=auth)

    response = client.get("/stream/stats")
    assert response.status_code == 200
    body = StreamStats.model_validate(response.json())
    workers = {w.worker_id: w for w in body.workers}
    live, stalled = workers["w-live"], workers["w-stalled"]
    assert not live.stalled and live.lag == {"0": 3, "1": 4} and live.total_lag == 7
    assert live.events_learned == 98 and live.model_version == "champion-v2+online"
    assert 1.5 < live.newest_learned_age_s < 60
    assert stalled.stalled and stalled.heartbeat_age_s >= 299 and "no heartbeat" in stalled.reason
    assert body.recent_dead_letters[0].error == "invalid rating 7"
    assert body.recent_dead_letters[0].offset == 42
    assert body.api.events_rejected["invalid"] >= 1
    recs = body.api.latency["GET /users/{user_id}/recommendations"]
    assert recs.count >= 1 and recs.p50_ms is not None and len(recs.counts) == len(recs.bounds_s) + 1


def test_redis_down_is_503(api_settings: Settings) -> None:
    settings = api_settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{closed_port()}/0"})
    with make_client(settings) as down:
        response = down.get("/stream/stats")
    assert response.status_code == 503 and "Redis" in response.json()["detail"]


def test_in_openapi_schema(client: TestClient) -> None:
    assert "get" in client.get("/openapi.json").json()["paths"]["/stream/stats"]
