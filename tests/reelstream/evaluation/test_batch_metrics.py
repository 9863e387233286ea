"""Offline metrics on cases small enough to check by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from reelstream.evaluation.scoring import evaluate_model
from reelstream.evaluation.metrics import coverage, ranking_metrics, rmse, top_k


def test_rmse():
    assert rmse(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0])) == pytest.approx(
        math.sqrt(4 / 3)
    )


def test_ndcg_recall_precision_by_hand():
    # user 0: hits at ranks 1 and 3 of 3 relevant; user 1: hit at rank 2 of 1 relevant.
    hits = np.array([[True, False, True], [False, True, False]])
    m = ranking_metrics(hits, np.array([3, 1]), k=3)
    d = [1.0, 1 / math.log2(3), 0.5]
    assert m["ndcg"][0] == pytest.approx((d[0] + d[2]) / sum(d))
    assert m["ndcg"][1] == pytest.approx(d[1] / d[0])
    assert m["recall"].tolist() == pytest.approx([2 / 3, 1.0])
    assert m["precision"].tolist() == pytest.approx([2 / 3, 1 / 3])


def test_ideal_dcg_is_capped_at_k():
    m = ranking_metrics(np.array([[True, True]]), np.array([5]), k=2)
    assert m["ndcg"][0] == pytest.approx(1.0) and m["recall"][0] == pytest.approx(0.4)


def test_top_k_and_coverage():
    scores = np.array([[0.2, -np.inf, 0.9, 0.5]])
    assert top_k(scores, 2).tolist() == [[2, 3]]
    assert coverage(np.array([[0, 1], [1, 3]]), 8) == 0.375


class _Fixed:
    """Ranks movies 10 > 20 > 30 > 40 for everybody, predicts 3.0."""

    movie_ids = np.array([10, 20, 30, 40])

    def predict(self, users, movies):
        return np.full(len(movies), 3.0)

    def rank_scores(self, rows):
        return np.tile(np.array([4.0, 3.0, 2.0, 1.0]), (len(rows), 1))

    def user_index(self, users):
        return np.array([{1: 0, 2: 1}.get(int(u), -1) for u in users])

    def item_index(self, movies):
        return np.array([{10: 0, 20: 1, 30: 2, 40: 3}.get(int(m), -1) for m in movies])


def test_harness_excludes_training_movies_and_counts_unknown_relevant():
    train = pd.DataFrame({"user_id": [1, 2], "movie_id": [10, 30], "rating": [5.0, 5.0]})
    # user 1: top-2 after excluding 10 is [20, 30]; relevant {20 (5.0)}, 40 is 3.0 (not relevant)
    # user 2: top-2 is [10, 20]; relevant {40, 99 (unknown movie)} -> no hit
    test = pd.DataFrame({"user_id": [1, 1, 2, 2], "movie_id": [20, 40, 40, 99],
                         "rating": [5.0, 3.0, 4.0, 4.5]})
    m = evaluate_model(_Fixed(), train, test, k=2, threshold=4.0)
    assert m["rmse"] == pytest.approx(math.sqrt((4 + 0 + 1 + 2.25) / 4))
    assert m["ndcg_at_2"] == pytest.approx(0.5)
    assert m["recall_at_2"] == pytest.approx(0.5)
    assert m["precision_at_2"] == pytest.approx(0.25)
    assert m["coverage"] == pytest.approx(3 / 4)
