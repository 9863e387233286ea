"""Fixtures for the worker's logic on the real embedded PostgreSQL and Redis (no Kafka)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from reelstream.cache import RecommendationCache
from reelstream.settings import Settings
from reelstream.store import upgrade


@pytest.fixture
def worker_settings(stack: Settings) -> Iterator[Settings]:
    """The stack's settings with a fresh, migrated PostgreSQL schema for this test."""
    schema = f"rs_worker_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(stack.postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    dsn = make_conninfo(stack.postgres_dsn, options=f"-csearch_path={schema}")
    upgrade(dsn)
    try:
        yield stack.model_copy(update={"postgres_dsn": dsn, "worker_id": f"w-{schema}"})
    finally:
        with psycopg.connect(stack.postgres_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def cache(worker_settings: Settings) -> Iterator[RecommendationCache]:
    """A cache under a key prefix of its own, deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    cache = RecommendationCache.from_url(worker_settings.redis_url, prefix=prefix)
    try:
        yield cache
    finally:
        keys = list(cache.client.scan_iter(f"{prefix}*"))
        if keys:
            cache.client.delete(*keys)
        cache.close()
