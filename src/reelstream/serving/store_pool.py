"""A small pool of :class:`~reelstream.store.EventStore` connections for a threaded server.

An ``EventStore`` holds one connection and must not run queries from two threads at once,
while FastAPI runs sync routes in a thread pool; so each request borrows its own store.
Stores are created lazily (the API starts while PostgreSQL is down) and a store whose
connection broke is dropped instead of being returned to the pool.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from reelstream.serving.incidents import log_dependency_failure

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
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._closed = False

    def _new_store(self) -> Any:
        from reelstream.store import EventStore

        try:
            return EventStore(self.dsn, connect_timeout=self.connect_timeout)
        except Exception as exc:  # psycopg.OperationalError and friends
            log_dependency_failure("PostgreSQL unreachable", exc)
            raise StoreUnavailable("PostgreSQL unreachable") from exc

    @contextmanager
    def store(self) -> Iterator[Any]:
        """Borrow a store for the duration of the block."""
        try:
            store = self._idle.get_nowait()
        except queue.Empty:
            store = self._new_store()
        broken = False
        try:
            yield store
        except Exception as exc:
            import psycopg

            if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
                broken = True
                log_dependency_failure("PostgreSQL connection lost", exc)
                raise StoreUnavailable("PostgreSQL connection lost") from exc
            raise
        finally:
            if broken or self._closed or store.connection.closed or self._idle.qsize() >= self.size:
                _close(store)
            else:
                self._idle.put(store)

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
                ok = bool(store.ping())
                if not ok:
                    store.close()  # a store that cannot answer SELECT 1 is not pooled again
                return ok
        except StoreUnavailable:
            return False

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                _close(self._idle.get_nowait())
            except queue.Empty:
                return


def _close(store: Any) -> None:
    try:
        store.close()
    except Exception:
        pass
