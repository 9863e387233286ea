"""One message off the ratings topic → a :class:`RatingEvent`, or the reason it is refused.

Whatever is wrong with a message (not JSON, not UTF-8, too large, a value that makes the
schema itself raise, a key naming another user) ends here as :class:`BadMessage` with a
readable reason, so the caller dead-letters that message and goes on. The worker and
``reelstream sink`` both decode with this.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

from reelstream.schemas import RatingEvent
from reelstream.streaming.messages import DeadLetter, RawMessage
from reelstream.streaming.resilience import describe

__all__ = ["BadMessage", "decode_rating", "decode_batch", "MAX_MESSAGE_BYTES"]

#: A rating is ~150 bytes of JSON; anything this large is not one (refused before parsing).
MAX_MESSAGE_BYTES = 64 * 1024


class BadMessage(ValueError):
    """A message that is not a valid rating event; ``str()`` is the reason."""


def _reason(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'message'}: {e['msg']}" for e in exc.errors()
    )


def decode_rating(value: bytes | None, key: bytes | None = None) -> RatingEvent:
    """Parse and validate one message. A key, when present, must be the event's user id
    (the producer's contract: a user's events stay in one partition, in order)."""
    if value is None:
        raise BadMessage("message: empty value (tombstone)")
    if len(value) > MAX_MESSAGE_BYTES:
        raise BadMessage(f"message: {len(value)} bytes, larger than {MAX_MESSAGE_BYTES}")
    try:
        event = RatingEvent.from_bytes(value)
    except ValidationError as exc:
        raise BadMessage(_reason(exc)) from None
    except Exception as exc:  # noqa: BLE001 - any failure of the schema is this message's
        raise BadMessage(f"message: {describe(exc)}") from None
    if key is not None and key != event.key:
        shown = key[:40].decode("utf-8", "replace")
        raise BadMessage(f"key: {shown!r} does not match user_id {event.user_id}")
    return event


def decode_batch(
    messages: Sequence[RawMessage],
) -> tuple[dict[object, tuple[RatingEvent, RawMessage]], list[DeadLetter]]:
    """The batch's valid events by event id (the first of a repeated id kept, in batch order)
    and a dead letter for every message that is not one."""
    events: dict[object, tuple[RatingEvent, RawMessage]] = {}
    dead_letters: list[DeadLetter] = []
    for message in messages:
        try:
            event = decode_rating(message.value, message.key)
        except BadMessage as exc:
            dead_letters.append(DeadLetter(message, str(exc), "validate"))
            continue
        events.setdefault(event.event_id, (event, message))
    return events, dead_letters
