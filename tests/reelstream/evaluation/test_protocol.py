"""The ranking protocol: split sizes, what the held-out part keeps, ties, and a full comparison
on a generated dataset in the ml-100k (``u.data``) layout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reelstream.evaluation.beyond import list_metrics, popularity_percentile
from reelstream.evaluation.protocol import (
    Interactions,
    evaluate_ranking,
    holdout_split,
    protocol_splits,
    top_k_stable,
)


def _ratings(n_users: int = 40, n_items: int = 30, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(1, n_users + 1):
        n = int(rng.integers(1, 16))
        for t, movie in enumerate(rng.choice(n_items, size=n, replace=False)):
            rows.append((user, int(movie) + 1, float(rng.integers(1, 11)) / 2, 100 * t + user))
    return pd.DataFrame(rows, columns=["user_id", "movie_id", "rating", "rated_at"])


def test_each_user_holds_out_n_minus_int_0_8_n_of_their_latest_ratings():
    ratings = _ratings()
    train, test = holdout_split(ratings)
    n = ratings.groupby("user_id").size()
    kept = train.groupby("user_id").size().reindex(n.index, fill_value=0)
    assert (kept == (n * 0.8 + 1e-9).astype(int)).all()  # n=5 -> 4 kept, n=1 -> 0 kept
    # every held-out rating is later than every training rating of the same user
    last_train = train.groupby("user_id")["rated_at"].max()
    first_test = test.groupby("user_id")["rated_at"].min()
    assert (first_test > last_train.reindex(first_test.index)).all()


def test_held_out_part_only_has_users_and_movies_seen_in_training():
    extra = pd.DataFrame([(99, 1, 4.0, 5), (1, 999, 5.0, 10**6)],  # a 1-rating user; a new movie
                         columns=["user_id", "movie_id", "rating", "rated_at"])
    ratings = pd.concat([_ratings(), extra], ignore_index=True)
    train, test = holdout_split(ratings)
    assert set(test.user_id) <= set(train.user_id)
    assert set(test.movie_id) <= set(train.movie_id)
    assert 99 not in set(train.user_id) and 999 not in set(train.movie_id)
    assert len(train) + len(test) == len(ratings) - 2


def test_validation_is_carved_from_training_the_same_way():
    ratings = _ratings()
    (train, test), (inner, validation) = protocol_splits(ratings)
    again_inner, again_val = holdout_split(train)
    pd.testing.assert_frame_equal(inner, again_inner)
    pd.testing.assert_frame_equal(validation, again_val)
    assert not set(map(tuple, validation[["user_id", "movie_id"]].values)) & set(
        map(tuple, test[["user_id", "movie_id"]].values))


def test_ties_go_to_the_lower_column():
    scores = np.array([[1.0, 2.0, 2.0, 2.0, -np.inf]])
    assert top_k_stable(scores, 3).tolist() == [[1, 2, 3]]


def test_perfect_scores_give_ndcg_one_and_rated_movies_are_never_ranked():
    ratings = _ratings()
    train, test = holdout_split(ratings)
    data = Interactions.from_frame(train)
    relevant = test[test.rating >= 4]
    col = {int(m): c for c, m in enumerate(data.movie_ids)}
    row = {int(u): r for r, u in enumerate(data.user_ids)}
    oracle = np.zeros(data.ratings.shape)
    for u, m in zip(relevant.user_id, relevant.movie_id, strict=True):
        oracle[row[u], col[m]] = 1.0
    oracle[data.ratings.toarray() != 0] = 5.0  # would win, but rated movies are excluded
    out = evaluate_ranking(lambda rows: oracle[rows], data, test, k=10)
    assert out["ndcg_at_10"] == pytest.approx(1.0)
    assert out["n_eval_users"] == relevant.user_id.nunique()
    rated = data.ratings.toarray() != 0
    assert not rated[out["list_users"][:, None], out["lists"]].any()


def test_beyond_accuracy_figures():
    pct = popularity_percentile(np.array([5.0, 9.0, 1.0, 9.0]))
    assert pct.tolist() == [0.5, 0.0, 0.75, 0.25]
    same = list_metrics(np.array([[1, 3], [1, 3]]), np.array([5.0, 9.0, 1.0, 9.0]),
                        [{"a"}, {"a"}, {"b"}, {"a"}])
    assert same == {"coverage": 0.5, "popularity_percentile": 0.125, "genre_diversity": 0.0}


def _u_data_folder(tmp_path):
    """A small dataset in the ml-100k layout: 60 users in 3 taste groups of 15 movies."""
    rng = np.random.default_rng(5)
    lines, items = [], []
    for user in range(1, 61):
        group = user % 3
        for t, movie in enumerate(rng.choice(15, size=10, replace=False) + 15 * group + 1):
            lines.append(f"{user}\t{movie}\t{rng.integers(3, 6)}\t{880000000 + 1000 * user + t}")
    for movie in range(1, 46):
        flags = ["0"] * 19
        flags[1 + movie % 3] = "1"
        items.append(f"{movie}|Movie {movie} (1990)|01-Jan-1990||http://x|{'|'.join(flags)}")
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    (folder / "u.data").write_text("\n".join(lines) + "\n", encoding="latin-1")
    (folder / "u.item").write_text("\n".join(items) + "\n", encoding="latin-1")
    return folder


def test_comparison_on_a_u_data_folder(tmp_path):
    from reelstream.evaluation.compare import compare, ours_baseline
    from reelstream.evaluation.list_baselines import BASELINES
    from reelstream.training.data import movielens_snapshot

    folder = _u_data_folder(tmp_path)

    from reelstream.cli.evaluate_protocol import genres_of

    ratings = movielens_snapshot(folder)
    ours = ours_baseline({"ease_lambda": 5.0, "ease_neighbours": 10},
                         [{"transition_weight": 0.0}, {"transition_weight": 0.25}])
    models = [b for b in BASELINES if b.name in {"popularity", "EASE"}] + [ours]
    results = {r.name: r for r in compare(ratings, models, genres_of(folder))}
    assert set(results) == {"popularity", "EASE", "ours (nightly ranker)"}
    chosen = results["ours (nightly ranker)"]
    assert chosen.validation_ndcg == max(v for _, v in chosen.grid)
    for r in results.values():
        assert 0.0 <= r.metrics["ndcg_at_10"] <= 1.0 and 0.0 < r.metrics["coverage"] <= 1.0
        assert 0.0 <= r.metrics["genre_diversity"] <= 1.0
    # taste groups: item-item models find them, popularity cannot
    assert results["ours (nightly ranker)"].metrics["ndcg_at_10"] > results["popularity"].metrics["ndcg_at_10"]


def test_evaluate_commands_print_ours_beside_the_baselines(tmp_path):
    from typer.testing import CliRunner

    from reelstream.cli import app

    folder = _u_data_folder(tmp_path)
    params = tmp_path / "params.yaml"
    params.write_text("batch:\n  factors: 3\n  iterations: 3\n  ranker: ease_seq\n"
                      "  ease_lambda: 5.0\n  ease_neighbours: 10\n")
    runner = CliRunner()
    batch = runner.invoke(app, ["--params", str(params), "evaluate", "batch", "--dataset",
                                str(folder), "--no-extra"], env={"COLUMNS": "200"})
    assert batch.exit_code == 0, batch.output
    for name in ("popularity", "ItemKNN", "RP3beta", "iALS", "EASE", "ours (nightly ranker)",
                 "popularity penalty", "coverage", "diversity"):
        assert name in batch.output
    stream = runner.invoke(app, ["--params", str(params), "evaluate", "stream", "--dataset",
                                 str(folder)], env={"COLUMNS": "200"})
    assert stream.exit_code == 0, stream.output
    assert "2nd half" in stream.output and "pop pct" in stream.output
