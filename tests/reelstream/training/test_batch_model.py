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


RANKER = BatchParams(factors=3, iterations=4, ranker="ease_seq", ease_lambda=5.0,
                     ease_neighbours=20, ease_max_items=0, transition_neighbours=20)


def test_item_ranker_round_trips_and_ranks_from_each_users_history(ratings, tmp_path):
    model = train_batch_model(ratings, RANKER)
    assert model.item_ranker is not None
    loaded = BatchModel.load(model.save(tmp_path / "m.npz"))
    rows = np.arange(5)
    np.testing.assert_allclose(loaded.rank_scores(rows), model.rank_scores(rows))
    first = ratings.sort_values(["rated_at", "movie_id"]).query("user_id == 1")
    np.testing.assert_array_equal(model.movie_ids[model.history(0)], first.movie_id.to_numpy())


def _grouped_ratings(seed: int = 1) -> pd.DataFrame:
    """Users who each rate movies of one taste group (20 movies per group), in random order."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(1, 91):
        group = user % 3
        movies = rng.choice(20, size=12, replace=False) + 20 * group + 1
        for t, movie in enumerate(movies):
            rows.append((user, int(movie), float(rng.choice([3.5, 4.0, 4.5, 5.0])), 1000 * user + t))
    return pd.DataFrame(rows, columns=["user_id", "movie_id", "rating", "rated_at"])


def test_the_ranker_finds_each_users_taste_group():
    ratings = _grouped_ratings()
    ours = train_and_evaluate(ratings, RANKER)
    mf = train_and_evaluate(ratings, BatchParams(factors=3, iterations=4, ranker="mf",
                                                 popularity_weight=0.0), baselines=False)
    assert ours.metrics["ndcg_at_10"] > ours.baselines["popularity"]["ndcg_at_10"]
    assert ours.metrics["ndcg_at_10"] > mf.metrics["ndcg_at_10"]


def test_pyfunc_top_n_gives_unrated_movies_with_reasons(ratings):
    import json

    from reelstream.training.pyfunc import top_n_frame

    model = train_batch_model(ratings, RANKER)
    frame = top_n_frame(model, np.array([1, 1, 2, 999]), 5)
    assert sorted(frame.user_id.unique()) == [1, 2] and (frame.groupby("user_id").size() == 5).all()
    rated = set(ratings.query("user_id == 1").movie_id)
    mine = frame.query("user_id == 1")
    assert not set(mine.movie_id) & rated
    assert list(mine["rank"]) == [1, 2, 3, 4, 5] and mine.score.is_monotonic_decreasing
    reasons = [json.loads(b) for b in mine.because]
    assert any(reasons) and all({m for m, _ in r} <= rated for r in reasons)
