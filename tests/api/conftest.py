"""Fixtures for the HTTP API tests: the real app over the real embedded stack.

Every test module gets its own ratings topic and the API tests use their own Redis database
(``/3``), so they neither see nor disturb what other suites (the worker's) write. Ids of the
users and movies a test creates are random and large, so PostgreSQL rows never collide.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api_testing import API_KEY, REDIS_DB, make_client, random_id, with_redis_db
from reelstream.cache import RecommendationCache
from reelstream.settings import Settings


@pytest.fixture(scope="module")
def api_settings(request: pytest.FixtureRequest, stack: Settings) -> Settings:
    from reelstream.kafka import ensure_topics

    module = request.module.__name__.rsplit(".", 1)[-1]
    settings = stack.model_copy(
        update={
            "ratings_topic": f"api-{module}-{uuid.uuid4().hex[:8]}",
            "redis_url": with_redis_db(stack.redis_url, REDIS_DB),
            "api_key": SecretStr(API_KEY),
            "environment": "test",
            "redis_prefix": f"api-test-{uuid.uuid4().hex[:6]}:",
        }
    )
    ensure_topics(settings, {settings.ratings_topic: 2})
    return settings


@pytest.fixture(scope="module")
def client(api_settings: Settings) -> Iterator[TestClient]:
    with make_client(api_settings) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def auth() -> dict[str, str]:
    return {"X-API-Key": API_KEY}


@pytest.fixture(scope="module")
def cache(api_settings: Settings) -> Iterator[RecommendationCache]:
    cache = RecommendationCache.from_url(
        api_settings.redis_url, api_settings.recommendation_ttl_s, prefix=api_settings.redis_prefix
    )
    yield cache
    cache.close()


@pytest.fixture(scope="module")
def store(api_settings: Settings) -> Iterator[Any]:
    from reelstream.store import EventStore

    with EventStore(api_settings.postgres_dsn) as event_store:
        yield event_store


@pytest.fixture
def movies(store: Any) -> dict[int, Any]:
    """Three fresh catalogue entries."""
    from reelstream.store import Movie

    made = {
        mid: Movie(mid, f"Test Movie {mid}", (genre, "Drama"), 2001)
        for mid, genre in zip([random_id() for _ in range(3)], ["Comedy", "Horror", "Sci-Fi"])
    }
    store.upsert_movies(made.values())
    return made
