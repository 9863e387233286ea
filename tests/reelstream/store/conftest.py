"""One contract suite, two PostgreSQL backends (Gorse style): the embedded stack's server and
the machine's own PostgreSQL. Every test gets a fresh schema, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from reelstream.store import upgrade

def _base_dsn(request: pytest.FixtureRequest) -> str:
    if request.param == "embedded":
        return request.getfixturevalue("stack").postgres_dsn
    return request.getfixturevalue("external_postgres_dsn")  # skips when unreachable


@pytest.fixture(
    params=[
        pytest.param("embedded", marks=pytest.mark.integration),
        pytest.param("external", marks=pytest.mark.external),
    ]
)
def empty_postgres_dsn(request: pytest.FixtureRequest) -> Iterator[str]:
    """A DSN whose search_path is a fresh, empty schema (dropped after the test)."""
    base = _base_dsn(request)
    schema = f"rs_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield make_conninfo(base, options=f"-csearch_path={schema}")
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def postgres_dsn(empty_postgres_dsn: str) -> str:
    """Like ``empty_postgres_dsn`` with every migration applied."""
    upgrade(empty_postgres_dsn)
    return empty_postgres_dsn
