"""Writing rating events: one batch at a time, duplicates ignored by event id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from psycopg.pq import TransactionStatus

from reelstream.schemas import RatingEvent
from reelstream.store._base import StoreBase

__all__ = ["RatingWrites", "CREATE_RATINGS_STAGING"]

# A batch is COPYed (binary) into a per-connection temp table, then moved with one
# INSERT ... SELECT ... ON CONFLICT: the fastest of COPY, unnest(typed arrays) and executemany
# for full batches (docs/performance.md).
CREATE_RATINGS_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS _ratings_in (
    event_id uuid, user_id int4, movie_id int4, rating float4, rated_at timestamptz
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


class RatingWrites(StoreBase):
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
