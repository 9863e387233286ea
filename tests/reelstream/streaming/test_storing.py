"""Storing a batch: one refused event is found by bisection, the others are stored (pure)."""

from __future__ import annotations

from reelstream.schemas import RatingEvent
from reelstream.streaming.storing import store_isolating


def test_refused_events_are_isolated_and_the_rest_stored_in_order():
    events = [RatingEvent(user_id=u, movie_id=1, rating=4) for u in range(1, 9)]
    refused_users = {3, 6}
    calls = []

    def store(batch):
        calls.append(len(batch))
        if refused_users & {e.user_id for e in batch}:
            raise ValueError("bad row")
        return [(e, e.user_id * 10) for e in batch]

    stored, refused = store_isolating(store, events)

    assert [seq for _, seq in stored] == [10, 20, 40, 50, 70, 80]
    assert [(e.user_id, error) for e, error in refused] == [(3, "ValueError: bad row"), (6, "ValueError: bad row")]
    assert calls[0] == 8


def test_a_whole_batch_stored_at_once_costs_one_call():
    events = [RatingEvent(user_id=u, movie_id=1, rating=4) for u in range(1, 4)]
    calls = []

    def store(batch):
        calls.append(batch)
        return [(e, 1) for e in batch]

    assert store_isolating(store, events) == ([(e, 1) for e in events], [])
    assert len(calls) == 1
