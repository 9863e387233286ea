"""Reading rating events: replay after a sequence, a user's history, training snapshots."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from reelstream.schemas import RatingEvent
from reelstream.store._base import StoreBase
from reelstream.store.records import SequencedRating, StoredRating

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RatingReads", "SNAPSHOT_COLUMNS"]

SNAPSHOT_COLUMNS = ["user_id", "movie_id", "rating", "rated_at"]


class RatingReads(StoreBase):
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
