"""A generic check suite run against every online recommender (like ``river.checks``)."""

from __future__ import annotations

import copy
import pickle

import numpy as np

__all__ = ["EVENTS", "yield_checks"]

_rng = np.random.default_rng(7)
#: A small stream: 40 users, 60 movies, ratings in half steps, increasing timestamps.
EVENTS = [
    (int(u), int(m), float(r), float(t))
    for t, (u, m, r) in enumerate(
        zip(
            _rng.integers(1, 41, 600),
            _rng.integers(1, 61, 600),
            _rng.integers(1, 11, 600) / 2,
            strict=True,
        )
    )
]


def check_pickling_round_trip(make):
    model = make()
    model.learn_many(EVENTS[:400])
    for clone in (pickle.loads(pickle.dumps(model)), type(model).from_bytes(model.to_bytes())):
        for u, m, _, _ in EVENTS[400:450]:
            assert clone.predict_one(u, m) == model.predict_one(u, m)
            assert clone.recommend(u, 5) == model.recommend(u, 5)
        # and they keep learning identically
        clone.learn_many(EVENTS[400:])
        twin = copy.deepcopy(model)
        twin.learn_many(EVENTS[400:])
        assert clone.recommend(3, 5) == twin.recommend(3, 5)
        assert clone.events_learned == twin.events_learned == len(EVENTS)


def check_seeding_is_idempotent(make):
    a, b = make(), make()
    a.learn_many(EVENTS)
    b.learn_many(EVENTS)
    for u, m, _, _ in EVENTS[:100]:
        assert a.predict_one(u, m) == b.predict_one(u, m)
    for user in range(1, 41):
        assert a.recommend(user, 10) == b.recommend(user, 10)


def check_inputs_not_mutated(make):
    model = make()
    events = [list(e) for e in EVENTS[:100]]
    before = copy.deepcopy(events)
    model.learn_many(events)
    assert events == before


def check_already_rated_excluded(make):
    model = make()
    model.learn_many(EVENTS)
    for user in range(1, 41):
        recs = model.recommend(user, 60)
        rated = {m for u, m, _, _ in EVENTS if u == user}
        assert not rated & {m for m, _ in recs}
        assert len(recs) == len(model.index) - len(rated)
        scores = [s for _, s in recs]
        assert scores == sorted(scores, reverse=True)


def check_unknown_movie_and_user(make):
    model = make()
    model.learn_many(EVENTS[:100])
    n = len(model.index)
    assert isinstance(model.predict_one(999, 999), float)
    model.learn_one(999, 999, 4.0)
    assert len(model.index) == n + 1 and 999 in model.index
    assert model.has_rated(999, 999)
    assert all(m != 999 for m, _ in model.recommend(999, 100))


def check_empty_model(make):
    model = make()
    assert model.recommend(1, 10) == []


def yield_checks():
    yield check_pickling_round_trip
    yield check_seeding_is_idempotent
    yield check_inputs_not_mutated
    yield check_already_rated_excluded
    yield check_unknown_movie_and_user
    yield check_empty_model
