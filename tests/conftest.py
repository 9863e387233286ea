"""Shared fixtures: a private embedded stack per test session, external services, datasets.

- ``stack`` (session): Apache Kafka, Redis and PostgreSQL on free loopback ports with state
  in a tmp dir; returns the ``Settings`` pointing at them (``environment="test"``). Tests
  that use it are marked ``integration`` automatically. Topic names, Redis keys/DBs and
  table rows are shared within the session: make them unique per test.
- ``mlflow_stack`` (session, started only when requested, slow): ``stack`` plus an MLflow
  tracking server; returns Settings whose ``mlflow_tracking_uri`` answers. With plain
  ``stack`` that URI points at a port where nothing listens.
- ``external_postgres_dsn`` / ``external_redis_url``: the machine's own services on the
  standard ports, skipped with a reason when unreachable.
- ``movielens_small``: ``../shared/movielens/ml-latest-small`` beside the repo, or skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reelstream.processes import free_ports
from reelstream.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
MOVIELENS_SMALL = REPO_ROOT.parent / "shared" / "movielens" / "ml-latest-small"
EXTERNAL_POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/test"
EXTERNAL_REDIS_URL = "redis://127.0.0.1:6379/15"

#: Services the ``stack`` fixture starts (MLflow is too slow to start for every session).
CORE_SERVICES = ("kafka", "redis", "postgres")
_STACK_FIXTURES = {"stack", "mlflow_stack"}


def make_test_settings(state_dir: Path, **overrides: object) -> Settings:
    """Settings for a private embedded stack on free ports, state in ``state_dir``."""
    kafka, redis_port, pg, mlflow, worker_metrics = free_ports(5)
    values: dict[str, object] = {
        "environment": "test",
        "state_dir": state_dir,
        "kafka_bootstrap_servers": f"127.0.0.1:{kafka}",
        "redis_url": f"redis://127.0.0.1:{redis_port}/0",
        "postgres_dsn": f"postgresql://reelstream@127.0.0.1:{pg}/reelstream",
        "mlflow_tracking_uri": f"http://127.0.0.1:{mlflow}",
        "worker_metrics_port": worker_metrics,  # not the default 18001 other stacks may hold
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    # --doctest-modules (pyproject.toml) is for the library's examples; a conftest holds
    # fixtures, and collecting it as a module clashes with the conftest of the same name.
    return True if collection_path.name == "conftest.py" else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _STACK_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def _embedded_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The session's EmbeddedStack, started lazily by ``stack``; always torn down at the end.

    Ports are free when chosen but may be grabbed before the servers bind them (tests run
    concurrently here), so a failed start is retried on fresh ports.
    """
    from reelstream.stack import SERVICES, EmbeddedStack, StackError

    last_error: StackError | None = None
    for attempt in range(3):
        settings = make_test_settings(tmp_path_factory.mktemp(f"stack{attempt}"))
        embedded = EmbeddedStack(settings, embedded=SERVICES, die_with_parent=True)
        try:
            embedded.up(CORE_SERVICES)
        except StackError as exc:
            last_error = exc
            embedded.down()
            continue
        try:
            yield embedded
        finally:
            embedded.down()
        return
    pytest.fail(f"could not start the embedded test stack:\n{last_error}", pytrace=False)


@pytest.fixture(scope="session")
def stack(_embedded_stack: object) -> Settings:
    """Settings of the session's embedded Kafka + Redis + PostgreSQL (migrated)."""
    return _embedded_stack.settings  # type: ignore[attr-defined, no-any-return]


@pytest.fixture(scope="session")
def mlflow_stack(_embedded_stack: object) -> Settings:
    """``stack`` plus a real MLflow tracking server (sqlite backend, local artifacts)."""
    from reelstream.stack import StackError

    try:
        _embedded_stack.up(["mlflow"])  # type: ignore[attr-defined]
    except StackError as exc:
        pytest.fail(f"could not start the MLflow server:\n{exc}", pytrace=False)
    return _embedded_stack.settings  # type: ignore[attr-defined, no-any-return]


@pytest.fixture(scope="session")
def external_postgres_dsn() -> str:
    """The machine's own PostgreSQL (database ``test``, trust auth); skip when unreachable."""
    import psycopg

    try:
        with psycopg.connect(EXTERNAL_POSTGRES_DSN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        pytest.skip(f"external PostgreSQL {EXTERNAL_POSTGRES_DSN} unreachable: {exc}")
    return EXTERNAL_POSTGRES_DSN


@pytest.fixture(scope="session")
def external_redis_url() -> str:
    """The machine's own Redis (DB 15); skip when unreachable."""
    import redis

    client = redis.Redis.from_url(EXTERNAL_REDIS_URL, socket_timeout=3, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"external Redis {EXTERNAL_REDIS_URL} unreachable: {exc}")
    finally:
        client.close()
    return EXTERNAL_REDIS_URL


@pytest.fixture(scope="session")
def movielens_small() -> Path:
    """``ml-latest-small`` beside the repo (``../shared/movielens``); skip when absent."""
    if not (MOVIELENS_SMALL / "ratings.csv").is_file():
        pytest.skip(f"MovieLens ml-latest-small not found at {MOVIELENS_SMALL}")
    return MOVIELENS_SMALL


@pytest.fixture
def isolated(stack: Settings) -> Iterator[Settings]:
    """The stack's settings with a fresh world for one test: a migrated PostgreSQL schema of
    its own (dropped afterwards), its own topics, consumer group, worker id and Redis key
    prefix (the same corner a benchmark uses: :func:`benchmarks.scratch.scratch_settings`)."""
    from benchmarks.scratch import scratch_settings

    with scratch_settings(stack, "test") as settings:
        yield settings
