"""Fixtures for the worker's logic on the real embedded PostgreSQL and Redis (no Kafka)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reelstream.cache import RecommendationCache
from reelstream.settings import Settings


@pytest.fixture
def worker_settings(isolated: Settings) -> Settings:
    return isolated


@pytest.fixture
def cache(worker_settings: Settings) -> Iterator[RecommendationCache]:
    cache = RecommendationCache.from_settings(worker_settings)
    try:
        yield cache
    finally:
        cache.close()
