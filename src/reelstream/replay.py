"""Replaying a MovieLens ratings table into Kafka as a time-ordered stream of events.

:func:`events_in_time_order` and :class:`Pacer` are pure (no Kafka); :func:`replay` sends what
they yield with ``acks="all"`` and accounts for every event. ``reelstream replay`` and the
``producers/`` entry point run it.

Event ids are derived from the rating itself (uuid5 of user, movie and time), so replaying
the same dataset twice publishes the same ids and the event store keeps each rating once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from kafka.errors import KafkaError

from reelstream.kafka import ensure_topics, make_producer
from reelstream.schemas import MAX_ID, MAX_RATING, MIN_RATING, RatingEvent, event_time_window
from reelstream.settings import Settings

__all__ = [
    "REPLAY_NAMESPACE",
    "InvalidRatings",
    "Pacer",
    "ReplayFailed",
    "ReplayReport",
    "check_ratings",
    "events_in_time_order",
    "replay",
]

REPLAY_NAMESPACE = uuid.UUID("6b1f3c2e-8d4a-4f0e-9a57-2f1c0d9e7b31")


class InvalidRatings(ValueError):
    """The ratings table holds a row that is not a valid rating event."""


def check_ratings(ratings: pd.DataFrame, source: str = "ratings") -> None:
    """Refuse the whole table if any row would be an invalid event, naming the first one.

    Checked before anything is published, so a bad file never ends half-replayed. A row's
    ``line`` column (set by the loaders) is used in the message when present.
    """
    missing = {"user_id", "movie_id", "rating", "timestamp"} - set(ratings.columns)
    if missing:
        raise InvalidRatings(f"{source}: missing columns {sorted(missing)}")
    rating = ratings["rating"].to_numpy(dtype=float)
    users, movies = ratings["user_id"].to_numpy(), ratings["movie_id"].to_numpy()
    seconds = _epoch_seconds(ratings["timestamp"])
    window = event_time_window()
    latest = (datetime.now(UTC) + window.max_ahead).timestamp()
    bad = (
        (users <= 0)
        | (users > MAX_ID)
        | (movies <= 0)
        | (movies > MAX_ID)
        | (seconds < window.earliest.timestamp())
        | (seconds > latest)
        | ~np.isfinite(rating)
        | (rating < MIN_RATING)
        | (rating > MAX_RATING)
        | (rating * 2 != np.round(rating * 2))
    )
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        row = ratings.iloc[first]
        where = f"line {int(row['line'])}" if "line" in ratings.columns else f"row {first + 1}"
        raise InvalidRatings(
            f"{source}, {where}: not a valid rating event "
            f"(user_id={row['user_id']}, movie_id={row['movie_id']}, rating={row['rating']}, "
            f"timestamp={row['timestamp']}); "
            f"{int(bad.sum())} invalid row(s) in all — nothing was published"
        )


def _epoch_seconds(column: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(column):
        return column.astype("datetime64[s, UTC]" if column.dt.tz else "datetime64[s]").astype(
            "int64"
        ).to_numpy()
    return column.to_numpy(dtype="int64")


def events_in_time_order(ratings: pd.DataFrame, limit: int | None = None) -> Iterator[RatingEvent]:
    """Yield the ratings as events, oldest first (stable: ties keep file order)."""
    seconds = _epoch_seconds(ratings["timestamp"])
    order = np.argsort(seconds, kind="stable")
    if limit is not None:
        order = order[:limit]
    users = ratings["user_id"].to_numpy()[order]
    movies = ratings["movie_id"].to_numpy()[order]
    values = ratings["rating"].to_numpy(dtype=float)[order]
    for user, movie, value, ts in zip(users, movies, values, seconds[order], strict=True):
        user, movie, ts = int(user), int(movie), int(ts)
        yield RatingEvent(
            event_id=uuid.uuid5(REPLAY_NAMESPACE, f"{user}:{movie}:{ts}"),
            user_id=user,
            movie_id=movie,
            rating=float(value),
            timestamp=datetime.fromtimestamp(ts, UTC),
        )


@dataclass
class Pacer:
    """Waits so that event time advances ``speed`` times faster than wall time.

    ``speed=None`` means as fast as possible.
    """

    speed: float | None
    _start_wall: float | None = None
    _start_event: float | None = None

    def wait_until(self, event_time: datetime) -> float:
        """Sleep until ``event_time`` is due; return the seconds slept."""
        if self.speed is None:
            return 0.0
        event_s = event_time.timestamp()
        now = time.monotonic()
        if self._start_wall is None:
            self._start_wall, self._start_event = now, event_s
            return 0.0
        due = self._start_wall + (event_s - self._start_event) / self.speed
        delay = due - now
        if delay > 0:
            time.sleep(delay)
            return delay
        return 0.0


@dataclass(frozen=True)
class ReplayReport:
    sent: int
    acknowledged: int
    seconds: float
    #: ``{partition: offset after the last acknowledged event}``: a consumer group has
    #: everything once its committed offsets reach these.
    end_offsets: dict[int, int] = field(default_factory=dict)
    last_event: RatingEvent | None = None  # the newest event sent

    @property
    def events_per_s(self) -> float:
        return self.acknowledged / self.seconds if self.seconds > 0 else 0.0


class ReplayFailed(RuntimeError):
    """The broker did not acknowledge every event."""


def replay(
    settings: Settings,
    ratings: pd.DataFrame,
    *,
    speed: float | None = None,
    limit: int | None = None,
    source: str = "ratings",
    on_progress: Callable[[int], None] | None = None,
) -> ReplayReport:
    """Publish ``ratings`` in timestamp order; raise :class:`ReplayFailed` if any is not acked.

    ``speed`` compresses event time ``speed``-fold (``None``: as fast as possible).
    """
    check_ratings(ratings, source)
    try:
        ensure_topics(settings, {settings.ratings_topic: settings.topic_partitions})
        producer = make_producer(settings)
    except KafkaError as exc:
        raise ReplayFailed(
            f"Kafka at {settings.kafka_bootstrap_servers} is unreachable ({exc}); "
            "nothing was published"
        ) from exc
    failures: list[BaseException] = []
    end_offsets: dict[int, int] = {}
    acked = 0

    def acknowledged(metadata) -> None:  # runs on the producer's I/O thread
        nonlocal acked
        acked += 1
        if metadata.offset + 1 > end_offsets.get(metadata.partition, 0):
            end_offsets[metadata.partition] = metadata.offset + 1

    pacer = Pacer(speed)
    sent, last = 0, None
    started = time.perf_counter()
    try:
        for event in events_in_time_order(ratings, limit):
            pacer.wait_until(event.timestamp)
            producer.send(
                settings.ratings_topic, key=event.key, value=event.to_bytes()
            ).add_callback(acknowledged).add_errback(failures.append)
            sent, last = sent + 1, event
            if on_progress is not None and sent % 1000 == 0:
                on_progress(1000)
        producer.flush(timeout=settings.kafka_request_timeout_ms / 1000 * 3)
    except KafkaError as exc:  # broker gone mid-replay: report what was not acknowledged
        failures.append(exc)
    finally:
        with suppress(KafkaError):
            producer.close(timeout=5)
    seconds = time.perf_counter() - started
    if on_progress is not None:
        on_progress(sent % 1000)
    report = ReplayReport(
        sent=sent, acknowledged=acked, seconds=seconds, end_offsets=end_offsets, last_event=last
    )
    if acked < sent or failures:
        raise ReplayFailed(
            f"{sent - acked:,} of {sent:,} events published were not acknowledged by the broker "
            f"at {settings.kafka_bootstrap_servers} (first error: {failures[0] if failures else 'none'}); "
            "re-run the replay — event ids are stable, so those already stored are not stored twice"
        )
    return report
