"""A processor's start-up: its last checkpoint, then what was stored after it.

A checkpoint that cannot be loaded (corrupt, or from an incompatible model) is logged and
skipped: the worker starts from a fresh model (the champion is adopted on top of it when the
promotion listener starts) and learns every event it stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from reelstream.models.online import OnlineRecommender
from reelstream.schemas import RatingEvent
from reelstream.store.records import Checkpoint, SequencedRating
from reelstream.streaming.resilience import describe

__all__ = ["load_checkpoint", "catch_up", "check_model", "lists_owed"]

log = logging.getLogger(__name__)


def check_model(model: OnlineRecommender) -> None:
    """Touch what the worker relies on, so an incompatible checkpoint fails here, at load."""
    if not isinstance(model.events_learned, int) or model.events_learned < 0:
        raise TypeError("events_learned is not a count")
    model.version  # noqa: B018 - raises on a model missing its state
    model.popular(1)


def load_checkpoint(
    load: Callable[[str], Checkpoint | None], name: str
) -> tuple[OnlineRecommender, dict[str, Any]] | None:
    """The model of checkpoint ``name`` and the offsets it goes with (``seq``, and ``items``
    when item state was shared); None when there is no usable one."""
    checkpoint = load(name)
    if checkpoint is None:
        return None
    try:
        model = OnlineRecommender.from_bytes(checkpoint.model)
        check_model(model)
    except Exception as exc:  # noqa: BLE001 - any unreadable checkpoint is skipped
        log.error(
            "checkpoint %r (%d bytes, %s) is unusable, skipping it and re-learning "
            "from PostgreSQL: %s",
            name, len(checkpoint.model), checkpoint.updated_at, describe(exc),
        )
        return None
    return model, checkpoint.offsets


def _stored_after(
    ratings_after: Callable[[int], Sequence[SequencedRating]], seq: int
) -> Iterator[SequencedRating]:
    """Every stored rating after ``seq``, in order, read page by page."""
    while rows := ratings_after(seq):
        yield from rows
        seq = rows[-1].seq


def catch_up(
    ratings_after: Callable[[int], Sequence[SequencedRating]],
    seq: int,
    learn: Callable[[SequencedRating], None],
) -> int:
    """Learn every stored rating after ``seq``, page by page, in order; return how many.

    One that fails to learn is skipped (it was dead-lettered when it first arrived)."""
    count = 0
    for row in _stored_after(ratings_after, seq):
        try:
            learn(row)
        except Exception:  # noqa: BLE001 - dead-lettered when it first arrived
            log.exception("learning stored event %s failed; skipped", row.event.event_id)
        count += 1
    return count


def lists_owed(
    ratings_after: Callable[[int], Sequence[SequencedRating]], offsets: dict[str, Any]
) -> dict[int, RatingEvent]:
    """The newest stored event of each user whose list a checkpoint taken while catching up
    left waiting: those stored after ``lists_owed_after`` up to the checkpoint's ``seq``."""
    if offsets.get("lists_owed_after") is None:
        return {}
    upto = int(offsets.get("seq", 0))
    newest: dict[int, RatingEvent] = {}
    for row in _stored_after(ratings_after, int(offsets["lists_owed_after"])):
        if row.seq > upto:
            break
        newest[row.event.user_id] = row.event
    return newest
