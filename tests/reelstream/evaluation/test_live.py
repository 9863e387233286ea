"""Live (test-then-learn) figures: the rolling window, merging workers, drift."""

from __future__ import annotations

import math
import random

import pytest

from reelstream.evaluation.live import LiveScores, list_scores, merge_live


def test_list_scores_hit_and_ndcg():
    assert list_scores([5, 6, 7], 5, 10) == (1.0, 1.0)
    assert list_scores([5, 6, 7], 7, 10) == (1.0, pytest.approx(1 / math.log2(4)))
    assert list_scores([5, 6, 7], 7, 2) == (0.0, 0.0)  # beyond the cut-off
    assert list_scores(None, 7, 10) == (0.0, 0.0)


def test_window_keeps_only_the_last_n_events():
    live = LiveScores(window=100)
    for _ in range(500):
        live.update(4.0, 3.0, [1], 2)  # error 1, a miss
    for _ in range(100):
        live.update(4.0, 4.0, [1], 1)  # exact, a hit at rank 1
    s = live.snapshot()
    assert (s["events"], s["window"]) == (600, 100)
    assert s["rmse"] == pytest.approx(0.0) and s["mae"] == pytest.approx(0.0)
    assert s["hr@10"] == pytest.approx(1.0) and s["ndcg@10"] == pytest.approx(1.0)


def test_merge_pools_the_workers_windows():
    a = {"events": 10, "window": 10, "rmse": 1.0, "mae": 1.0, "hr@10": 0.0, "ndcg@10": 0.0}
    b = {"events": 30, "window": 30, "rmse": 0.0, "mae": 0.0, "hr@10": 1.0, "ndcg@10": 0.5}
    merged = merge_live([a, b, {}])
    assert merged["window"] == 40 and merged["workers"] == 2
    assert merged["rmse"] == pytest.approx(math.sqrt(10 / 40))
    assert merged["hr@10"] == pytest.approx(0.75) and merged["ndcg@10"] == pytest.approx(0.375)
    assert merge_live([]) is None


def test_inverted_ratings_raise_a_drift():
    rng = random.Random(0)
    live = LiveScores(window=1000)
    for _ in range(3000):  # the model predicts within half a star
        y = rng.choice([1.0, 2.0, 3.0, 4.0, 5.0])
        live.update(y, y + rng.uniform(-0.5, 0.5), [], 0)
    assert live.drifts == 0 and live.drift_note is None
    for _ in range(1000):  # users now rate the opposite of what the model learned
        y = rng.choice([1.0, 2.0, 3.0, 4.0, 5.0])
        live.update(6.0 - y, y + rng.uniform(-0.5, 0.5), [], 0)
    assert live.drifts >= 1
    assert "rose" in live.drift_note and live.drift_at is not None
