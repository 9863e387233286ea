"""Helpers shared by the API tests (a uniquely named module: ``conftest`` is not importable)."""

from __future__ import annotations

import random
import socket
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from api.main import create_app
from reelstream.settings import Settings

API_KEY = "api-tests-key"
REDIS_DB = 3


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_redis_db(url: str, db: int) -> str:
    base, _, last = url.rpartition("/")
    return f"{base}/{db}" if last.isdigit() else f"{url.rstrip('/')}/{db}"


def random_id() -> int:
    """A user or movie id no other test uses (and far above MovieLens' ids)."""
    return random.randint(100_000_000, 2**31 - 1)


def make_client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))


def now() -> datetime:
    return datetime.now(UTC)
