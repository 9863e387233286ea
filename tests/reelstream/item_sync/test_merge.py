"""The merge rule of shared item state, without Kafka: two model copies, disjoint users."""

from __future__ import annotations

import numpy as np
import pytest

from reelstream.item_sync import ItemDelta, ItemJournal, apply_delta
from reelstream.models import OnlineConfig, OnlineRecommender

CONFIG = OnlineConfig(
    transition_weight=1.0, popularity_weight=1.0, rating_blend=True, popularity_half_life=None
)


def _events(seed: int = 0, n: int = 400) -> list[tuple[int, int, float]]:
    rng = np.random.default_rng(seed)
    users = rng.integers(1, 30, n).tolist()
    movies = rng.integers(1, 60, n).tolist()
    ratings = (rng.integers(1, 11, n) / 2).tolist()
    return list(zip(users, movies, ratings, strict=True))


def _pair() -> tuple[OnlineRecommender, OnlineRecommender]:
    a, b = OnlineRecommender(CONFIG), OnlineRecommender(CONFIG)
    a.item_journal, b.item_journal = ItemJournal("a"), ItemJournal("b")
    return a, b


def _exchange(a: OnlineRecommender, b: OnlineRecommender) -> None:
    da, db = a.item_journal.collect(a), b.item_journal.collect(b)
    if db is not None:
        apply_delta(a, ItemDelta.from_bytes(db.to_bytes()))  # through the wire format
    if da is not None:
        apply_delta(b, ItemDelta.from_bytes(da.to_bytes()))


def _by_id(model: OnlineRecommender, movies) -> tuple[np.ndarray, np.ndarray]:
    rows = [model.index.get(m) for m in movies]
    return model.mf.item_factors_of(rows), np.array(model.mf.item_biases_of(rows))


def test_same_base_and_disjoint_users_end_with_the_same_item_state():
    a, b = _pair()
    movies = list(range(1, 60))
    factors = {m: np.full(10, 0.01 * m) for m in movies}
    for model in (a, b):
        model.warm_start(factors, {m: 0.0 for m in movies}, 3.5, "v1", n_ratings=100)
    for start in range(0, 400, 50):
        for user, movie, y in _events()[start : start + 50]:
            (a if user % 2 else b).learn_one(user, movie, y)
        _exchange(a, b)
    fa, ba = _by_id(a, movies)
    fb, bb = _by_id(b, movies)
    np.testing.assert_allclose(fa, fb, atol=1e-6)  # factor deltas travel as float32
    np.testing.assert_allclose(ba, bb, atol=1e-12)
    assert a.global_mean == pytest.approx(b.global_mean)


def test_counts_means_and_transitions_equal_one_model_that_saw_everything():
    a, b = _pair()
    whole = OnlineRecommender(CONFIG)
    events = _events(1)
    for start in range(0, len(events), 37):
        for user, movie, y in events[start : start + 37]:
            (a if user % 3 else b).learn_one(user, movie, y)
            whole.learn_one(user, movie, y)
        _exchange(a, b)
    ratings = [y for _, _, y in events]
    for model in (a, b):
        assert model.global_mean == pytest.approx(np.mean(ratings))
        ids = whole.index.ids.tolist()
        rows = [model.index.get(m) for m in ids]
        assert model.trending.values(len(model.index))[rows].tolist() == whole.trending.values(len(ids)).tolist()
        for m in ids:  # rating sums and counts per movie
            assert model.blend.items[model.index.get(m)] == pytest.approx(whole.blend.items[whole.index.get(m)])
        for j in ids[:20]:  # the links out of each movie, by movie id
            mine = dict(zip(model.index.ids[np.flatnonzero(model.transitions.row(model.index.get(j)))].tolist(),
                            model.transitions.row(model.index.get(j))[model.transitions.row(model.index.get(j)) > 0].tolist(), strict=True))
            full_row = whole.transitions.row(whole.index.get(j))
            theirs = dict(zip(whole.index.ids[np.flatnonzero(full_row)].tolist(), full_row[full_row > 0].tolist(), strict=True))
            assert mine == pytest.approx(theirs)


def test_received_changes_are_not_published_again():
    a, b = _pair()
    for user, movie, y in _events(2, 50):
        (a if user % 2 else b).learn_one(user, movie, y)
    delta_b = b.item_journal.collect(b)
    a.item_journal.collect(a)
    apply_delta(a, delta_b)
    assert a.item_journal.collect(a) is None  # nothing of a's own since
    a.learn_one(1, 5, 4.0)
    again = a.item_journal.collect(a)
    assert again.event_movies.tolist() == [5]
    assert again.movie_ids.tolist() == [5]  # only the movie a itself touched


def test_a_movie_never_seen_takes_the_publishers_vector():
    a, b = _pair()
    b.learn_one(7, 123, 5.0)
    apply_delta(a, b.item_journal.collect(b))
    np.testing.assert_allclose(_by_id(a, [123])[0], _by_id(b, [123])[0], rtol=1e-6)
    assert a.is_known(7) is False  # user state stays with its owner


def test_checkpoint_leaves_the_journal_out():
    a, _ = _pair()
    a.learn_one(1, 2, 3.0)
    restored = OnlineRecommender.from_bytes(a.to_bytes())
    assert restored.item_journal is None and len(a.item_journal) == 1
