"""Plain records the event store reads and writes (no ORM: rows map 1:1 to these)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from reelstream.schemas import RatingEvent

__all__ = ["Movie", "StoredRating", "SequencedRating", "Checkpoint"]


@dataclass(frozen=True, slots=True)
class Movie:
    """A catalogue entry: title without the year, genres as a tuple, year or None."""

    movie_id: int
    title: str
    genres: tuple[str, ...] = ()
    year: int | None = None


@dataclass(frozen=True, slots=True)
class StoredRating:
    """A rating event as stored (``ingested_at`` is when PostgreSQL received it)."""

    event_id: UUID
    user_id: int
    movie_id: int
    rating: float
    rated_at: datetime
    ingested_at: datetime


@dataclass(frozen=True, slots=True)
class SequencedRating:
    """A stored event with its ingest sequence number (see ``EventStore.ratings_after``)."""

    seq: int
    event: RatingEvent


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Streaming-worker state: serialized model plus the offsets it has consumed.

    ``offsets`` holds where the model's inputs stand: for the worker, ``seq`` (the last
    stored event it learned) and ``items`` (the last shared item delta it applied).
    """

    name: str
    model: bytes
    offsets: dict[str, int | str] = field(default_factory=dict)
    events_learned: int = 0
    updated_at: datetime | None = None
