"""A pool of :class:`~reelstream.store.EventStore` connections for a threaded server
(:class:`psycopg_pool.ConnectionPool`).

An ``EventStore`` holds one connection and must not run queries from two threads at once,
while FastAPI runs sync routes in a thread pool; so each request borrows its own store.
Connections are opened on demand (``min_size=0``: the API starts while PostgreSQL is down),
checked before each loan, and a connection that broke is discarded by the pool instead of
being lent again. Either failure reaches the caller as :class:`StoreUnavailable`; while
PostgreSQL is down, a loan waits at most ``connect_timeout`` for the pool to reconnect.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from reelstream.serving.incidents import log_dependency_failure
from reelstream.store import EventStore

__all__ = ["StorePool", "StoreUnavailable"]

_POPULAR_SQL = (
    "SELECT movie_id, count(*) AS n FROM ratings GROUP BY movie_id ORDER BY n DESC, movie_id LIMIT %s"
)


class StoreUnavailable(Exception):
    """PostgreSQL could not be reached."""


class StorePool:
    def __init__(self, dsn: str, *, size: int = 8, connect_timeout: float = 3.0) -> None:
        self.dsn = dsn
        self.size = size
        self.connect_timeout = connect_timeout
        self._pool = ConnectionPool(
            dsn,
            min_size=0,
            max_size=size,
            kwargs={"autocommit": True, "connect_timeout": max(1, int(connect_timeout))},
            configure=EventStore.prepare,
            check=ConnectionPool.check_connection,
            timeout=connect_timeout,
            name="reelstream-api-stores",
            open=True,
        )

    @contextmanager
    def store(self) -> Iterator[EventStore]:
        """Borrow a store for the duration of the block."""
        try:
            with self._pool.connection() as conn:
                yield EventStore.on_connection(conn)
        except PoolTimeout as exc:
            log_dependency_failure("PostgreSQL unreachable", exc)
            raise StoreUnavailable("PostgreSQL unreachable") from exc
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            log_dependency_failure("PostgreSQL connection lost", exc)
            raise StoreUnavailable("PostgreSQL connection lost") from exc

    # -- conveniences used by the API ---------------------------------------------------------
    def get_movies(self, ids: Sequence[int] | Any) -> dict[int, Any]:
        with self.store() as store:
            return store.get_movies(ids)

    def popular(self, n: int) -> list[tuple[int, float]]:
        """Most-rated movies, with their rating count as score (the cache-less fallback)."""
        with self.store() as store:
            rows = store.connection.execute(_POPULAR_SQL, (n,)).fetchall()
        return [(int(movie_id), float(count)) for movie_id, count in rows]

    def ping(self) -> bool:
        try:
            with self.store() as store:
                return bool(store.ping())
        except StoreUnavailable:
            return False

    def close(self) -> None:
        self._pool.close()
