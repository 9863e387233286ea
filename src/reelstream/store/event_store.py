"""The durable PostgreSQL event store (psycopg 3): movies, rating events, checkpoints.

One :class:`EventStore` holds one autocommit connection; every method is one statement or
one short transaction (a batch insert: COPY + one INSERT). It is not meant to be shared by
threads running queries at once: give each thread or event-loop worker its own store.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any
from uuid import UUID

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.types.json import Jsonb

from reelstream.schemas import RatingEvent
from reelstream.store.records import Checkpoint, Movie, SequencedRating, StoredRating

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EventStore", "SNAPSHOT_COLUMNS"]

SNAPSHOT_COLUMNS = ["user_id", "movie_id", "rating", "rated_at"]

# A batch is COPYed (binary) into a per-connection temp table, then moved with one
# INSERT ... SELECT ... ON CONFLICT. Measured on this kind of machine (2 cores), same batches:
# COPY ~29-33k rows/s, unnest(typed arrays) ~17-27k, executemany (pipelined) ~10-12k. Most of
# the remaining time is server-side index maintenance (5 indexes) and the ON CONFLICT check.
_CREATE_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS _ratings_in (
    event_id uuid, user_id int4, movie_id int4, rating float4, rated_at timestamptz
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS _movies_in (
    movie_id int4, title text, genres text[], year int2
) ON COMMIT DELETE ROWS
"""
_COPY_RATINGS = "COPY _ratings_in FROM STDIN (FORMAT BINARY)"
_RATING_TYPES = ["uuid", "int4", "int4", "float4", "timestamptz"]
_INSERT_RATINGS = """
INSERT INTO ratings (event_id, user_id, movie_id, rating, rated_at, ingested_by)
SELECT event_id, user_id, movie_id, rating, rated_at, %s::text FROM _ratings_in
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id, seq
"""

# Small batches (a lightly loaded worker's) go in one statement, one round trip, with no
# transaction around a staging table; above this size COPY is faster (docs/performance.md).
_SMALL_BATCH = 128
_INSERT_RATINGS_SMALL = """
INSERT INTO ratings (event_id, user_id, movie_id, rating, rated_at, ingested_by)
SELECT event_id, user_id, movie_id, rating, rated_at, %s::text
  FROM unnest(%s::uuid[], %s::int4[], %s::int4[], %s::float4[], %s::timestamptz[])
       AS t(event_id, user_id, movie_id, rating, rated_at)
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id, seq
"""

_UPSERT_MOVIES = """
INSERT INTO movies (movie_id, title, genres, year)
SELECT movie_id, title, genres, year FROM _movies_in
ON CONFLICT (movie_id) DO UPDATE
   SET title = EXCLUDED.title, genres = EXCLUDED.genres, year = EXCLUDED.year
 WHERE (movies.title, movies.genres, movies.year)
       IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.genres, EXCLUDED.year)
"""


class EventStore:
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
        conn.execute(_CREATE_STAGING)

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

    # --- ratings ------------------------------------------------------------------------
    def insert_ratings(
        self, events: Sequence[RatingEvent], *, ingested_by: str | None = None
    ) -> dict[UUID, int]:
        """Store ``events``; return ``{event_id: seq}`` of those newly inserted, in input order.

        Events whose event_id is already stored (or repeated within the batch) are no-ops, so
        a redelivered event is neither stored nor returned twice: iterate the result for the
        new event_ids (``list(result)``), an empty result means "all duplicates". ``seq`` is
        the row's ingest sequence number and ``ingested_by`` (e.g. a worker's checkpoint name)
        is recorded with the row, so a restarted worker can find what it stored after its
        last checkpoint (:meth:`ratings_after`).
        """
        if not events:
            return {}
        if len(events) <= _SMALL_BATCH:
            rows = self._conn.execute(
                _INSERT_RATINGS_SMALL,
                (
                    ingested_by,
                    [e.event_id for e in events],
                    [e.user_id for e in events],
                    [e.movie_id for e in events],
                    [e.rating for e in events],
                    [e.timestamp for e in events],
                ),
            ).fetchall()
        else:
            rows = self._copy_ratings(events, ingested_by)
        inserted = dict(rows)
        return {e.event_id: inserted.pop(e.event_id) for e in events if e.event_id in inserted}

    def _copy_ratings(self, events: Sequence[RatingEvent], ingested_by: str | None) -> list[Any]:
        nested = self._conn.info.transaction_status != TransactionStatus.IDLE
        with self._conn.transaction(), self._conn.cursor() as cur:
            with cur.copy(_COPY_RATINGS) as copy:
                copy.set_types(_RATING_TYPES)
                for e in events:
                    copy.write_row((e.event_id, e.user_id, e.movie_id, e.rating, e.timestamp))
            rows = cur.execute(_INSERT_RATINGS, (ingested_by,)).fetchall()
            if nested:  # inside a caller's transaction the commit won't empty the staging table
                cur.execute("TRUNCATE _ratings_in")
        return rows

    def ratings_after(
        self, after_seq: int, *, ingested_by: str | None = None, limit: int = 10_000
    ) -> list[SequencedRating]:
        """Stored events with ``seq > after_seq`` in seq order (at most ``limit``).

        With ``ingested_by``, only the rows that writer stored. A worker calls this on start
        with the seq of its checkpoint to learn what it stored but had not checkpointed.
        """
        where, params = "seq > %s", [after_seq]
        if ingested_by is not None:
            where, params = "ingested_by = %s AND seq > %s", [ingested_by, after_seq]
        rows = self._conn.execute(
            "SELECT seq, event_id, user_id, movie_id, rating, rated_at FROM ratings"
            f" WHERE {where} ORDER BY seq LIMIT %s",
            [*params, limit],
        ).fetchall()
        return [SequencedRating(seq=r[0], event=_rating_event(r[1:])) for r in rows]

    def count_ratings(self) -> int:
        return int(self._scalar("SELECT count(*) FROM ratings"))

    def counts(self) -> dict[str, int]:
        """Row counts of every table (what ``reelstream db counts`` prints)."""
        row = self._conn.execute(
            "SELECT (SELECT count(*) FROM movies), (SELECT count(*) FROM ratings),"
            " (SELECT count(DISTINCT user_id) FROM ratings),"
            " (SELECT count(*) FROM worker_checkpoints)"
        ).fetchone()
        assert row is not None
        return dict(zip(("movies", "ratings", "users", "checkpoints"), map(int, row)))

    def user_ratings(self, user_id: int, limit: int = 50, offset: int = 0) -> list[StoredRating]:
        """A user's ratings, newest first (ties broken by event_id so pages are stable)."""
        rows = self._conn.execute(
            "SELECT event_id, user_id, movie_id, rating, rated_at, ingested_at FROM ratings"
            " WHERE user_id = %s ORDER BY rated_at DESC, event_id LIMIT %s OFFSET %s",
            (user_id, limit, offset),
        ).fetchall()
        return [StoredRating(*r) for r in rows]

    def latest_events(self, user_ids: Iterable[int]) -> dict[int, RatingEvent]:
        """Each user's most recently stored event (highest ``seq``); users with none are left out."""
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        rows = self._conn.execute(
            "SELECT DISTINCT ON (user_id) event_id, user_id, movie_id, rating, rated_at"
            " FROM ratings WHERE user_id = ANY(%s::int4[]) ORDER BY user_id, seq DESC",
            (ids,),
        ).fetchall()
        return {row[1]: _rating_event(row) for row in rows}

    def count_user_ratings(self, user_id: int) -> int:
        return int(self._scalar("SELECT count(*) FROM ratings WHERE user_id = %s", (user_id,)))

    def rated_movie_ids(self, user_ids: Iterable[int]) -> dict[int, set[int]]:
        """Movies each user has rated; every requested user is a key (empty set if none)."""
        ids = sorted(set(user_ids))
        result: dict[int, set[int]] = {u: set() for u in ids}
        if not ids:
            return result
        cur = self._conn.execute(
            "SELECT user_id, movie_id FROM ratings WHERE user_id = ANY(%s::int4[])", (ids,)
        )
        for user_id, movie_id in cur:
            result[user_id].add(movie_id)
        return result

    def ratings_snapshot(self, start: datetime | None, end: datetime) -> pd.DataFrame:
        """Ratings with ``start <= rated_at < end`` (all before ``end`` when start is None).

        Columns: user_id (int32), movie_id (int32), rating (float32), rated_at (UTC
        datetime), ordered by rated_at then event_id so two reads of a window are identical.
        """
        import numpy as np
        import pandas as pd

        where, params = "rated_at < %s", [end]
        if start is not None:
            where, params = "rated_at >= %s AND rated_at < %s", [start, end]
        with self._conn.cursor(binary=True) as cur:
            cur.execute(
                f"SELECT user_id, movie_id, rating, rated_at FROM ratings WHERE {where}"
                " ORDER BY rated_at, event_id",
                params,
            )
            rows = cur.fetchall()
        users, movies, ratings, times = zip(*rows) if rows else ((), (), (), ())
        return pd.DataFrame(
            {
                "user_id": np.asarray(users, dtype=np.int32),
                "movie_id": np.asarray(movies, dtype=np.int32),
                "rating": np.asarray(ratings, dtype=np.float32),
                "rated_at": pd.to_datetime(list(times), utc=True).as_unit("us"),
            },
            columns=SNAPSHOT_COLUMNS,
        )

    # --- movies -------------------------------------------------------------------------
    def upsert_movies(self, movies: Iterable[Movie] | pd.DataFrame) -> int:
        """Insert or update movies; return how many rows were inserted or changed.

        Accepts :class:`Movie` records or a DataFrame with columns movie_id, title, genres
        (list of str), year (int or missing) as returned by :mod:`reelstream.movielens`.
        """
        records = _movie_rows(movies)
        with self._conn.transaction():
            with self._conn.cursor() as cur:
                cur.execute("TRUNCATE _movies_in")
                with cur.copy("COPY _movies_in (movie_id, title, genres, year) FROM STDIN") as cp:
                    for row in records:
                        cp.write_row(row)
                cur.execute(_UPSERT_MOVIES)
                return cur.rowcount

    def get_movies(self, movie_ids: Iterable[int]) -> dict[int, Movie]:
        ids = sorted(set(movie_ids))
        if not ids:
            return {}
        rows = self._conn.execute(
            "SELECT movie_id, title, genres, year FROM movies WHERE movie_id = ANY(%s::int4[])",
            (ids,),
        ).fetchall()
        return {r[0]: Movie(r[0], r[1], tuple(r[2] or ()), r[3]) for r in rows}

    def get_movie(self, movie_id: int) -> Movie | None:
        return self.get_movies([movie_id]).get(movie_id)

    def count_movies(self) -> int:
        return int(self._scalar("SELECT count(*) FROM movies"))

    # --- worker checkpoints -------------------------------------------------------------
    def save_checkpoint(
        self, name: str, model: bytes, offsets: dict[str, int], events_learned: int
    ) -> None:
        """Save model state and consumed offsets atomically (one row, one statement)."""
        self._conn.execute(
            "INSERT INTO worker_checkpoints (name, model, offsets, events_learned, updated_at)"
            " VALUES (%s, %s, %s, %s, now())"
            " ON CONFLICT (name) DO UPDATE SET model = EXCLUDED.model,"
            " offsets = EXCLUDED.offsets, events_learned = EXCLUDED.events_learned,"
            " updated_at = EXCLUDED.updated_at",
            (name, model, Jsonb({k: int(v) for k, v in offsets.items()}), events_learned),
        )

    def load_checkpoint(self, name: str) -> Checkpoint | None:
        row = self._conn.execute(
            "SELECT name, model, offsets, events_learned, updated_at"
            " FROM worker_checkpoints WHERE name = %s",
            (name,),
        ).fetchone()
        if row is None:
            return None
        return Checkpoint(
            name=row[0],
            model=bytes(row[1]),
            offsets={str(k): int(v) for k, v in (row[2] or {}).items()},
            events_learned=int(row[3]),
            updated_at=row[4],
        )

    def delete_checkpoint(self, name: str) -> bool:
        cur = self._conn.execute("DELETE FROM worker_checkpoints WHERE name = %s", (name,))
        return cur.rowcount > 0

    # --- helpers ------------------------------------------------------------------------
    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
        assert row is not None
        return row[0]


def _movie_rows(
    movies: Iterable[Movie] | pd.DataFrame,
) -> Iterator[tuple[int, str, list[str], int | None]]:
    if hasattr(movies, "itertuples"):
        frame: Any = movies
        for movie_id, title, genres, year in frame[["movie_id", "title", "genres", "year"]].itertuples(
            index=False, name=None
        ):
            yield int(movie_id), str(title), list(genres or ()), _opt_int(year)
    else:
        for m in movies:  # type: ignore[union-attr]
            yield int(m.movie_id), m.title, list(m.genres), _opt_int(m.year)


def _opt_int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return int(value)


def _rating_event(row: Sequence[Any]) -> RatingEvent:
    """A ``RatingEvent`` from ``(event_id, user_id, movie_id, rating, rated_at)`` columns.

    Rows were validated when they were stored; they are not validated again, so a change of
    the accepted event-time window never makes a stored event unreadable.
    """
    return RatingEvent.model_construct(
        event_id=row[0],
        user_id=row[1],
        movie_id=row[2],
        rating=float(row[3]),
        timestamp=row[4].astimezone(UTC),
    )
