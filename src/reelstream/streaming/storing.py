"""Storing a batch so that one event PostgreSQL refuses does not keep the others out."""

from __future__ import annotations

import logging
from collections.abc import Callable

from reelstream.schemas import RatingEvent
from reelstream.streaming.resilience import describe

__all__ = ["store_isolating"]

log = logging.getLogger(__name__)

Stored = list[tuple[RatingEvent, int]]
Refused = list[tuple[RatingEvent, str]]


def store_isolating(
    store: Callable[[list[RatingEvent]], Stored], events: list[RatingEvent]
) -> tuple[Stored, Refused]:
    """``store(events)`` whole; if it raises, bisect the batch until the events it refuses are
    alone, and return those with the error beside what was stored.

    ``store`` waits out outages itself, so what raises here is a fault of the data. No cost
    per event on the happy path: one call for the whole batch.
    """
    try:
        return store(events), []
    except Exception as exc:  # noqa: BLE001 - outages never get here (waited out)
        if len(events) == 1:
            log.warning("event %s refused by PostgreSQL: %s", events[0].event_id, describe(exc))
            return [], [(events[0], describe(exc))]
    half = len(events) // 2
    stored, refused = store_isolating(store, events[:half])
    more_stored, more_refused = store_isolating(store, events[half:])
    return stored + more_stored, refused + more_refused
