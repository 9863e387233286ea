"""The retrain benchmark's generated data set and its extrapolation (small sizes only)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.retrain import ML25M, TrainBench, bench_train, extrapolate, movielens_shaped


def test_generated_set_is_movielens_shaped():
    n = 200_000
    df = movielens_shaped(n, seed=1)
    assert 0.97 * n <= len(df) <= n
    assert not df.duplicated(["user_id", "movie_id"]).any()
    scale = n / ML25M["ratings"]
    assert df.user_id.nunique() == int(ML25M["users"] * scale)
    assert df.movie_id.nunique() <= max(int(ML25M["movies"] * scale), 2000)
    assert set(np.unique(df.rating)) <= {x / 2 for x in range(1, 11)}
    assert 3.0 < df.rating.mean() < 4.0
    per_user = df.groupby("user_id").size()
    assert per_user.min() >= 15 and per_user.max() > 2.5 * per_user.median()  # long-tailed
    per_movie = df.groupby("movie_id").size().sort_values(ascending=False)
    top = per_movie.iloc[: len(per_movie) // 100].sum() / len(df)
    assert top > 0.1 and per_movie.iloc[-1] < 0.1 * per_movie.median() + 5  # long tail
    assert str(df.rated_at.dt.tz) == "UTC"
    # a user's movies are not rated in id order (the temporal split must not see id order)
    first = df.sort_values(["user_id", "rated_at"]).groupby("user_id").movie_id.first()
    assert (first != df.groupby("user_id").movie_id.min()).mean() > 0.5
    assert movielens_shaped(50_000, seed=3).equals(movielens_shaped(50_000, seed=3))


def test_extrapolation_is_linear_through_two_runs():
    def run(n, seconds, mb):
        return TrainBench(n, 1, 1, 0.0, 0.0, seconds, 0.0, mb, True)

    small, large = run(1_000_000, 10.0, 300.0), run(2_000_000, 18.0, 500.0)
    assert extrapolate(small, large, 4_000_000, "pipeline_s") == pytest.approx(34.0)
    assert extrapolate(small, large, 4_000_000, "peak_mb") == pytest.approx(900.0)


@pytest.mark.slow
def test_training_child_reports_time_and_peak_memory():
    result = bench_train(100_000, seed=0)
    assert 97_000 <= result.n_ratings <= 100_000 and result.n_users == 650
    assert result.train_s > 0 and result.split_s > 0
    assert result.peak_mb >= result.data_mb * 0.5 > 0
