"""The event store contract, run against every PostgreSQL backend (see conftest.py)."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pandas as pd
import pytest

from reelstream.schemas import RatingEvent
from reelstream.store import SNAPSHOT_COLUMNS, EventStore, Movie

T0 = datetime(2020, 1, 1, tzinfo=UTC)


def _events(n: int, *, users: int = 7, start: datetime = T0) -> list[RatingEvent]:
    return [
        RatingEvent(
            user_id=1 + i % users,
            movie_id=100 + i,
            rating=0.5 + (i % 10) / 2,
            timestamp=start + timedelta(minutes=i),
        )
        for i in range(n)
    ]


@pytest.fixture
def store(postgres_dsn):
    with EventStore(postgres_dsn) as s:
        yield s


def test_insert_is_idempotent(store):
    events = _events(2500)
    first = store.insert_ratings(events)
    assert list(first) == [e.event_id for e in events]
    assert store.count_ratings() == 2500

    second = store.insert_ratings(events)
    assert not second
    assert store.count_ratings() == 2500


@pytest.mark.parametrize("padding", [0, 300], ids=["one-statement", "copy"])
def test_insert_returns_only_new_ids_in_input_order(store, padding):
    """Both insert paths (one statement for small batches, COPY for large ones) agree."""
    old = _events(3)
    store.insert_ratings(old[:2])
    new = RatingEvent(user_id=9, movie_id=9, rating=3.0, timestamp=T0)
    pad = _events(padding, start=T0 + timedelta(days=1))
    batch = [old[0], new, old[2], new, old[1], *pad]  # a duplicate inside the batch too
    inserted = store.insert_ratings(batch)
    assert list(inserted) == [new.event_id, old[2].event_id, *(e.event_id for e in pad)]
    assert list(inserted.values()) == sorted(inserted.values())  # seq follows input order
    assert store.count_ratings() == 4 + padding
    assert store.insert_ratings([]) == {}


def test_insert_returns_increasing_sequence_and_ratings_after_replays_them(store):
    events = _events(5)
    seqs = store.insert_ratings(events[:3], ingested_by="worker-a")
    assert list(seqs.values()) == sorted(seqs.values())
    more = store.insert_ratings(events[3:], ingested_by="worker-b")

    after_first = store.ratings_after(seqs[events[0].event_id], ingested_by="worker-a")
    assert [r.event for r in after_first] == events[1:3]
    assert [r.seq for r in after_first] == [seqs[e.event_id] for e in events[1:3]]
    assert [r.event.event_id for r in store.ratings_after(0, ingested_by="worker-b")] == list(more)
    assert len(store.ratings_after(0)) == 5
    assert len(store.ratings_after(0, limit=2)) == 2


def test_insert_inside_a_caller_transaction(store):
    events = _events(4)
    with store.transaction():
        assert len(store.insert_ratings(events[:2])) == 2
        assert len(store.insert_ratings(events[2:])) == 2
        store.save_checkpoint("w", b"m", {"ratings:0": 4}, 4)
    assert store.count_ratings() == 4
    assert store.load_checkpoint("w").offsets == {"ratings:0": 4}


def test_failed_transaction_stores_nothing(store):
    events = _events(3)
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.insert_ratings(events)
            raise RuntimeError("worker crashed before the checkpoint")
    assert store.count_ratings() == 0
    assert len(store.insert_ratings(events)) == 3


def test_stored_values_round_trip(store):
    event = RatingEvent(
        user_id=42, movie_id=31, rating=2.5, timestamp=datetime(2009, 12, 14, 2, 52, 24, tzinfo=UTC)
    )
    store.insert_ratings([event])
    (row,) = store.user_ratings(42)
    assert (row.event_id, row.user_id, row.movie_id, row.rating, row.rated_at) == (
        event.event_id,
        42,
        31,
        2.5,
        event.timestamp,
    )
    assert row.ingested_at is not None


def test_user_ratings_newest_first_and_paginated(store):
    events = _events(20, users=2)  # user 1 gets the even indices
    store.insert_ratings(events)
    mine = [e for e in events if e.user_id == 1][::-1]
    page1 = store.user_ratings(1, limit=4, offset=0)
    page2 = store.user_ratings(1, limit=4, offset=4)
    assert [r.event_id for r in page1 + page2] == [e.event_id for e in mine[:8]]
    assert store.count_user_ratings(1) == 10
    assert store.user_ratings(999) == []


def test_rated_movie_ids_includes_every_requested_user(store):
    store.insert_ratings(_events(6, users=2))
    assert store.rated_movie_ids([1, 2, 3]) == {1: {100, 102, 104}, 2: {101, 103, 105}, 3: set()}
    assert store.rated_movie_ids([]) == {}


def test_snapshot_window_is_start_inclusive_end_exclusive(store):
    events = _events(10)  # one per minute from T0
    store.insert_ratings(events)
    snap = store.ratings_snapshot(T0 + timedelta(minutes=2), T0 + timedelta(minutes=5))
    assert list(snap.columns) == SNAPSHOT_COLUMNS
    assert snap["movie_id"].tolist() == [102, 103, 104]
    assert snap["rated_at"].tolist() == [T0 + timedelta(minutes=m) for m in (2, 3, 4)]
    assert str(snap["rated_at"].dt.tz) == "UTC"
    assert snap["rating"].tolist() == [e.rating for e in events[2:5]]

    everything_before = store.ratings_snapshot(None, T0 + timedelta(minutes=3))
    assert everything_before["movie_id"].tolist() == [100, 101, 102]


def test_empty_snapshot_keeps_columns_and_types(store):
    snap = store.ratings_snapshot(T0, T0 + timedelta(days=1))
    assert snap.empty and list(snap.columns) == SNAPSHOT_COLUMNS
    assert isinstance(snap["rated_at"].dtype, pd.DatetimeTZDtype)


def test_movies_upsert_and_read(store):
    movies = [
        Movie(1, "Toy Story", ("Adventure", "Animation"), 1995),
        Movie(2, "Unknown Year", (), None),
    ]
    assert store.upsert_movies(movies) == 2
    assert store.upsert_movies(movies) == 0  # unchanged rows are not rewritten
    assert store.upsert_movies([Movie(2, "Known Year", ("Drama",), 2001)]) == 1
    assert store.get_movies([1, 2, 3]) == {
        1: movies[0],
        2: Movie(2, "Known Year", ("Drama",), 2001),
    }
    assert store.get_movie(1) == movies[0]
    assert store.get_movie(404) is None
    assert store.count_movies() == 2


def test_movies_upsert_from_a_dataframe(store):
    frame = pd.DataFrame(
        {
            "movie_id": [5, 6],
            "title": ["Heat", "No Year"],
            "genres": [["Action", "Crime"], []],
            "year": pd.array([1995, None], dtype="Int64"),
        }
    )
    assert store.upsert_movies(frame) == 2
    assert store.get_movie(5) == Movie(5, "Heat", ("Action", "Crime"), 1995)
    assert store.get_movie(6) == Movie(6, "No Year", (), None)


def test_checkpoint_round_trip_and_overwrite(store):
    assert store.load_checkpoint("worker-0") is None
    model = bytes(range(256)) * 10
    store.save_checkpoint("worker-0", model, {"ratings:0": 17, "ratings:3": 5}, 22)
    cp = store.load_checkpoint("worker-0")
    assert cp is not None
    assert (cp.name, cp.model, cp.offsets, cp.events_learned) == (
        "worker-0",
        model,
        {"ratings:0": 17, "ratings:3": 5},
        22,
    )
    assert cp.updated_at is not None

    store.save_checkpoint("worker-0", b"v2", {"ratings:0": 30}, 35)
    cp2 = store.load_checkpoint("worker-0")
    assert (cp2.model, cp2.offsets, cp2.events_learned) == (b"v2", {"ratings:0": 30}, 35)
    assert store.delete_checkpoint("worker-0") and store.load_checkpoint("worker-0") is None


def test_counts_and_ping(store):
    store.insert_ratings(_events(6, users=3))
    store.upsert_movies([Movie(1, "A")])
    assert store.counts() == {"movies": 1, "ratings": 6, "users": 3, "checkpoints": 0}
    assert store.ping()


def test_rating_outside_range_is_refused_by_the_database(store):
    # The schema refuses bad values even from writers that bypass RatingEvent validation.
    import psycopg

    with pytest.raises(psycopg.errors.CheckViolation):
        store.connection.execute(
            "INSERT INTO ratings (event_id, user_id, movie_id, rating, rated_at)"
            " VALUES (%s, 1, 1, 7, now())",
            (uuid4(),),
        )
