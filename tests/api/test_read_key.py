"""Reads behind a key (REELSTREAM_API_READS_NEED_KEY), on the real app and stack."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api_testing import API_KEY, make_client, random_id
from reelstream.settings import Settings

READ_KEY = "read-only-test-key"
READS = ["/users/{u}/recommendations", "/users/{u}/recommendations?n=3", "/users/{u}/ratings",
         "/movies", "/movies/genres", "/popular", "/stream/stats", "/models"]
OPEN = ["/health", "/metrics", "/openapi.json", "/docs"]


@pytest.fixture(scope="module")
def gated(api_settings: Settings) -> Iterator[TestClient]:
    settings = api_settings.model_copy(update={
        "api_reads_need_key": True, "api_read_key": SecretStr(READ_KEY)})
    with make_client(settings) as client:
        yield client


@pytest.mark.parametrize("path", READS)
def test_reads_need_a_key_when_told(gated: TestClient, path: str) -> None:
    url = path.format(u=random_id())
    refused = gated.get(url)
    assert refused.status_code == 401, url
    assert "X-API-Key" in refused.json()["detail"]
    assert gated.get(url, headers={"X-API-Key": "wrong"}).status_code == 401
    for key in (READ_KEY, API_KEY):
        assert gated.get(url, headers={"X-API-Key": key}).status_code in (200, 503), (url, key)


@pytest.mark.parametrize("path", OPEN)
def test_health_metrics_and_docs_stay_open(gated: TestClient, path: str) -> None:
    assert gated.get(path).status_code in (200, 503)  # 503: /health while degraded


def test_the_read_key_cannot_write(gated: TestClient) -> None:
    event = {"event_id": str(uuid.uuid4()), "user_id": random_id(), "movie_id": 1,
             "rating": 4.0, "timestamp": "2024-01-01T00:00:00Z"}
    assert gated.post("/ratings", json=event, headers={"X-API-Key": READ_KEY}).status_code == 401
    promote = gated.post("/models/1/promote", headers={"X-API-Key": READ_KEY})
    assert promote.status_code == 401


def test_reads_are_open_by_default(client: TestClient) -> None:
    assert client.get(f"/users/{random_id()}/ratings").status_code == 200
