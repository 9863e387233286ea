"""The durable PostgreSQL event store (psycopg 3): movies, rating events, checkpoints.

One :class:`EventStore` holds one autocommit connection; every method is one statement or
one short transaction (a batch insert: COPY + one INSERT). It is not meant to be shared by
threads running queries at once: give each thread or event-loop worker its own store.

Its parts, one module each: rating writes, rating reads, the movie table, worker checkpoints.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import psycopg

from reelstream.store.checkpoints import CheckpointTable
from reelstream.store.movies import CREATE_MOVIES_STAGING, MovieTable
from reelstream.store.rating_reads import SNAPSHOT_COLUMNS, RatingReads
from reelstream.store.rating_writes import CREATE_RATINGS_STAGING, RatingWrites
from reelstream.store.user_erasure import UserErasure

__all__ = ["EventStore", "SNAPSHOT_COLUMNS"]

class EventStore(RatingWrites, RatingReads, MovieTable, CheckpointTable, UserErasure):
    """Read and write the event store at ``dsn``; use as a context manager.

    The schema must exist (:func:`reelstream.store.upgrade`).
    """

    def __init__(self, dsn: str, *, connect_timeout: float = 10.0) -> None:
        self.dsn = dsn
        self.connect_timeout = int(connect_timeout)
        self._closed = False
        self._connection = self._connect()

    def _connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=self.connect_timeout)
        try:
            self.prepare(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    @property
    def _conn(self) -> psycopg.Connection[Any]:
        """The connection, reopened if the server dropped it (a restart, an outage): the
        call that found it broken raised ``psycopg.OperationalError``; the next one, e.g. a
        retry, gets a new connection. Raises ``OperationalError`` while the server is away."""
        conn = self._connection
        if conn.closed and not self._closed:
            self._connection = conn = self._connect()
        return conn

    @staticmethod
    def prepare(conn: psycopg.Connection[Any]) -> None:
        """Make a new autocommit connection ready for a store (its session-lifetime staging
        tables); a connection pool runs this on each connection it opens."""
        conn.execute(CREATE_RATINGS_STAGING)
        conn.execute(CREATE_MOVIES_STAGING)

    @classmethod
    def on_connection(cls, conn: psycopg.Connection[Any]) -> EventStore:
        """A store over a prepared connection that its owner (a pool) keeps and closes."""
        store = cls.__new__(cls)
        store.dsn = ""
        store.connect_timeout = 0
        store._connection = conn
        store._closed = True  # never reopened here: the pool replaces a broken connection
        return store

    # --- lifecycle ----------------------------------------------------------------------
    def close(self) -> None:
        self._closed = True
        self._connection.close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def connection(self) -> psycopg.Connection[Any]:
        """The current connection as it is (not reopened: callers check ``.closed``)."""
        return self._connection

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several calls into one transaction (e.g. store a batch + save a checkpoint)."""
        with self._conn.transaction():
            yield

    def ping(self) -> bool:
        """True when the server answers a trivial query."""
        try:
            self._conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True
