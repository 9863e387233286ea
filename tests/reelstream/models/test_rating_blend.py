"""The online least-squares stack of rating predictors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from reelstream.models import OnlineConfig, OnlineRecommender, RatingBlend

from .checks import EVENTS


def test_features_by_hand():
    blend = RatingBlend(shrinkage=1.0, residual_decay=0.5)
    x = blend.features(1, 0, mf_prediction=3.0, global_mean=3.5)
    assert x.tolist() == [1.0, 3.0, 0.0, 0.0, 0.0]  # unknown user and item: no correction
    blend.learn(1, 0, x, 5.0)
    # user mean (5 + 1 * 3.5) / 2 - 3.5 = 0.75; residual 0.5 * (5 - 3) = 1
    assert blend.features(1, 0, 3.0, 3.5).tolist() == [1.0, 3.0, 0.75, 0.75, 1.0]
    assert blend.features(2, None, 3.0, 3.5).tolist() == [1.0, 3.0, 0.0, 0.0, 0.0]


def test_starts_as_the_mf_prediction_and_fits_least_squares():
    blend = RatingBlend(forgetting=1.0, ridge=1e-9, solve_every=1)
    assert blend.predict(np.array([1.0, 3.7, 0.2, -0.1, 0.4])) == pytest.approx(3.7)
    rng = np.random.default_rng(0)
    true = np.array([0.5, 0.8, 0.3, 0.2, 0.1])
    xs = np.column_stack([np.ones(200), rng.normal(3.5, 1, (200, 4))])
    for x in xs:
        blend.gram += np.outer(x, x)
        blend.moment += (true @ x) * x
    blend.solve()
    np.testing.assert_allclose(blend.weights, true, atol=1e-6)


def test_forgetting_stays_finite_on_constant_features():
    blend = RatingBlend(forgetting=0.99, solve_every=10)
    for _ in range(5000):  # one direction only: RLS with forgetting would blow up here
        blend.learn(1, 0, np.array([1.0, 3.0, 0.0, 0.0, 0.0]), 4.0)
    assert np.isfinite(blend.weights).all()
    assert blend.predict(np.array([1.0, 3.0, 0.0, 0.0, 0.0])) == pytest.approx(4.0, abs=1e-3)


def test_blend_changes_ratings_not_ranking():
    plain = OnlineRecommender()
    stacked = OnlineRecommender(OnlineConfig(rating_blend=True))
    plain.learn_many(EVENTS)
    stacked.learn_many(EVENTS)
    assert all(plain.recommend(u, 5) == stacked.recommend(u, 5) for u in range(1, 41))
    assert any(plain.predict_one(u, m) != stacked.predict_one(u, m) for u, m, _, _ in EVENTS)
    assert 0.5 <= min(stacked.predict_one(u, m) for u, m, _, _ in EVENTS)
    clone = pickle.loads(pickle.dumps(stacked))
    assert clone.predict_one(3, EVENTS[0][1]) == stacked.predict_one(3, EVENTS[0][1])
