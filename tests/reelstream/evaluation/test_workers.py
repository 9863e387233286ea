"""``evaluate stream --workers``: N model copies routed by user, sharing item state or not."""

from __future__ import annotations

import numpy as np

from reelstream.evaluation.stream import prequential
from reelstream.evaluation.workers import owner, prequential_workers
from reelstream.models import OnlineConfig, OnlineRecommender

CONFIG = OnlineConfig(transition_weight=1.0, popularity_weight=1.0, popularity_half_life=500)


def _events(n: int = 3000) -> list[tuple[int, int, float, float]]:
    rng = np.random.default_rng(5)
    users = rng.integers(1, 80, n)
    movies = np.minimum(rng.zipf(1.6, n), 300)
    ratings = np.clip(np.round((3.2 + 0.3 * (movies % 5) - 0.2 * (users % 3) + rng.normal(0, 0.8, n)) * 2) / 2, 0.5, 5)
    return list(zip(users.tolist(), movies.tolist(), ratings.tolist(), range(n), strict=True))


def test_one_worker_is_the_plain_prequential_run():
    events = _events()
    single = prequential({"m": OnlineRecommender(CONFIG)}, events)["m"]
    for share in (True, False):
        one = prequential_workers(lambda: OnlineRecommender(CONFIG), events, 1, share=share)
        assert (one.n_events, one.n_hr, one.hits) == (single.n_events, single.n_hr, single.hits)
        assert one.rmse == single.rmse


def test_users_stay_with_one_worker_and_sharing_changes_the_outcome():
    assert {owner(u, 4) for u in range(1, 200)} == {0, 1, 2, 3}
    assert owner(17, 4) == owner(17, 4)
    events = _events()
    independent = prequential_workers(lambda: OnlineRecommender(CONFIG), events, 4, share=False)
    shared = prequential_workers(lambda: OnlineRecommender(CONFIG), events, 4, share=True, window=50)
    assert independent.n_events == shared.n_events == len(events)
    assert shared.rmse != independent.rmse
    assert np.isfinite(shared.rmse) and 0 <= shared.hit_rate <= 1
