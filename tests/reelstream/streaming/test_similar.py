"""The similar-list schedule: per-batch cap, per-second budget, per-movie spacing (pure)."""

from __future__ import annotations

from reelstream.streaming.similar import SimilarSchedule


def test_newest_first_each_once_up_to_the_batch_cap():
    schedule = SimilarSchedule(per_batch=3, per_s=0.0, every_s=60.0)
    assert schedule.due([5, 4, 5, 3, 2, 1], now=schedule._tokens_at) == [5, 4, 3]


def test_the_budget_refills_per_second_and_a_movie_waits_its_spacing():
    schedule = SimilarSchedule(per_batch=2, per_s=1.0, every_s=10.0)
    t0 = schedule._tokens_at
    assert schedule.due([1, 2, 3], now=t0) == [1, 2]
    assert schedule.due([3], now=t0 + 0.5) == []  # half a token
    assert schedule.due([1, 3], now=t0 + 1.0) == [3]  # 1 was refreshed 1 s ago
    assert schedule.due([1], now=t0 + 11.0) == [1]
