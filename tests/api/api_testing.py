"""Helpers shared by the API tests (a uniquely named module: ``conftest`` is not importable)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from api.main import create_app
from reelstream.processes import free_port as closed_port
from benchmarks.api import with_redis_db
from reelstream.settings import Settings

__all__ = ["API_KEY", "REDIS_DB", "closed_port", "make_client", "now", "random_id", "with_redis_db"]

API_KEY = "api-tests-key"
REDIS_DB = 3


def random_id() -> int:
    """A user or movie id no other test uses (and far above MovieLens' ids)."""
    return random.randint(100_000_000, 2**31 - 1)


def make_client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))


def now() -> datetime:
    return datetime.now(UTC)
