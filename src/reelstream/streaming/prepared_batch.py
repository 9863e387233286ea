"""The data a batch carries between the processor's steps, and the processor's limits."""

from __future__ import annotations

from dataclasses import dataclass

from reelstream.schemas import RatingEvent
from reelstream.streaming.messages import DeadLetter, RawMessage

__all__ = ["PreparedBatch", "ProcessorConfig"]


@dataclass(frozen=True, slots=True)
class ProcessorConfig:
    """How much the processor writes per batch and how often it checkpoints.

    Similar-movie lists are refreshed for the movies just rated: at most ``similar_per_batch``
    per batch and ``similar_per_s`` per second (a token bucket, full at start), each movie at
    most once every ``similar_every_s``, so they stay off the hot path's budget.

    While more batches are already waiting, users' lists are not written after every batch:
    each affected user is kept once (with their newest event) and the lists are written when
    no batch waits, or once the oldest has waited ``list_max_delay_s``; a user who rates
    again meanwhile gets one list instead of several (``0`` writes after every batch).
    While the worker's consumer has ``list_catchup_unread`` events or more still to read
    (a replay, a catch-up), lists wait up to ``list_catchup_delay_s`` instead, and a
    periodic checkpoint leaves them waiting (a restart writes them).
    """

    top_n: int = 20
    popular_n: int = 100
    checkpoint_every_events: int = 5000
    checkpoint_every_s: float = 30.0
    checkpoint_max_share: float = 0.02
    similar_per_batch: int = 20
    similar_per_s: float = 50.0
    similar_every_s: float = 60.0
    list_max_delay_s: float = 1.0
    list_catchup_unread: int = 20_000
    list_catchup_delay_s: float = 15.0


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A batch validated and stored, not yet learned (see ``BatchProcessor.prepare``)."""

    size: int  # messages received
    events: dict[object, tuple[RatingEvent, RawMessage]]  # valid, by event_id, first kept
    dead_letters: list[DeadLetter]
    histories: dict[int, set[int]]  # first-seen users' earlier movies
    stored: list[tuple[RatingEvent, int]]  # newly stored, in batch order, with their seq
    latest: dict[int, RatingEvent]  # users with only duplicates here: their latest stored event
    started: float

    @classmethod
    def single(cls, event: RatingEvent, seq: int, message: RawMessage, started: float) -> PreparedBatch:
        """One event already stored, as a batch of its own (to learn it alone)."""
        return cls(1, {event.event_id: (event, message)}, [], {}, [(event, seq)], {}, started)
