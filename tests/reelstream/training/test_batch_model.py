from __future__ import annotations

import numpy as np
import pandas as pd

from reelstream.evaluation.metrics import rmse
from reelstream.models.batch import BatchModel
from reelstream.models.batch_als import BatchParams, train_batch_model
from reelstream.training.pipeline import train_and_evaluate
from reelstream.training.split import temporal_split

PARAMS = BatchParams(factors=3, iterations=8, reg_abs=2.0, reg_bias=2.0)


def test_learns_better_than_a_constant(ratings):
    train, test = temporal_split(ratings)
    model = train_batch_model(train, PARAMS)
    pred = model.predict(test.user_id.to_numpy(), test.movie_id.to_numpy())
    constant = np.full(len(test), train.rating.mean())
    assert rmse(test.rating.to_numpy(), pred) < 0.9 * rmse(test.rating.to_numpy(), constant)
    fit = model.predict(train.user_id.to_numpy(), train.movie_id.to_numpy())
    assert rmse(train.rating.to_numpy(), fit) < 0.5


def test_exports_factors_for_the_worker_and_round_trips(ratings, tmp_path):
    model = train_batch_model(ratings, PARAMS)
    n_items = ratings.movie_id.nunique()
    assert model.item_factors.shape == (n_items, 3) and model.item_bias.shape == (n_items,)
    assert model.user_factors.shape == (ratings.user_id.nunique(), 3)
    loaded = BatchModel.load(model.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(loaded.item_factors, model.item_factors)
    np.testing.assert_array_equal(loaded.movie_ids, model.movie_ids)
    users, movies = np.array([1, 2, 999]), np.array([1, 999, 2])
    np.testing.assert_allclose(loaded.predict(users, movies), model.predict(users, movies))


def test_same_seed_same_model_and_inputs_untouched(ratings):
    before = ratings.copy()
    a, b = train_batch_model(ratings, PARAMS), train_batch_model(ratings, PARAMS)
    np.testing.assert_array_equal(a.item_factors, b.item_factors)
    pd.testing.assert_frame_equal(ratings, before)


def test_unknown_users_and_movies_fall_back_to_biases(ratings):
    model = train_batch_model(ratings, PARAMS)
    pred = model.predict(np.array([10_000]), np.array([20_000]))
    assert pred.tolist() == [np.clip(model.global_mean, 0.5, 5.0)]


def test_pipeline_reports_ours_and_popularity(ratings):
    result = train_and_evaluate(ratings, PARAMS)
    for metrics in (result.metrics, result.baselines["popularity"]):
        assert {"rmse", "ndcg_at_10", "recall_at_10", "precision_at_10", "coverage"} <= set(metrics)
    assert result.snapshot.n_ratings == len(ratings)
    assert result.metrics["rmse"] < result.baselines["popularity"]["rmse"]
