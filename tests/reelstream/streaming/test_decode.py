"""Decoding one message: whatever is wrong with it ends as BadMessage with a reason (pure)."""

from __future__ import annotations

import pytest

from benchmarks.chaos_probe import POISON
from reelstream.schemas import RatingEvent
from reelstream.streaming.decode import MAX_MESSAGE_BYTES, BadMessage, decode_rating


@pytest.mark.parametrize(("name", "key", "value"), POISON, ids=[p[0] for p in POISON])
def test_every_poison_message_is_refused_with_a_reason(name, key, value):
    with pytest.raises(BadMessage) as refused:
        decode_rating(value, key)
    assert str(refused.value)


def test_the_reason_names_what_is_wrong():
    with pytest.raises(BadMessage, match="movie_id: Field required"):
        decode_rating(b'{"user_id": 1, "rating": 4}')
    with pytest.raises(BadMessage, match="larger than"):
        decode_rating(b" " * (MAX_MESSAGE_BYTES + 1))
    with pytest.raises(BadMessage, match="does not match user_id 3"):
        decode_rating(RatingEvent(user_id=3, movie_id=1, rating=4).to_bytes(), b"4")


def test_a_valid_message_with_its_key_or_none_is_decoded():
    event = RatingEvent(user_id=3, movie_id=1, rating=4)
    assert decode_rating(event.to_bytes(), event.key) == event
    assert decode_rating(event.to_bytes(), None) == event


def test_a_batch_keeps_the_first_of_a_repeated_event_and_dead_letters_the_rest():
    from reelstream.streaming.decode import decode_batch
    from reelstream.streaming.messages import RawMessage

    one, two = RatingEvent(user_id=1, movie_id=1, rating=4), RatingEvent(user_id=2, movie_id=1, rating=3)
    batch = [RawMessage(one.to_bytes(), offset=0), RawMessage(b"{", offset=1),
             RawMessage(two.to_bytes(), offset=2), RawMessage(one.to_bytes(), offset=3)]

    events, dead = decode_batch(batch)

    assert [(e, m.offset) for e, m in events.values()] == [(one, 0), (two, 2)]
    assert [(d.message.offset, d.stage) for d in dead] == [(1, "validate")]
