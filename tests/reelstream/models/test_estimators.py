"""Run the generic checks against every online recommender."""

from __future__ import annotations

import pytest

from reelstream.models import (
    OnlineConfig,
    OnlineRecommender,
    Popularity,
    RiverMF,
    load_online_config,
)

from .checks import yield_checks

ESTIMATORS = {
    "online": lambda: OnlineRecommender(),
    "online-blend": lambda: OnlineRecommender(
        OnlineConfig(popularity_half_life=50, popularity_weight=1.0, cold_start_min_ratings=3)
    ),
    "online-transitions": lambda: OnlineRecommender(
        OnlineConfig(popularity_half_life=50, popularity_weight=1.0, transition_weight=1.0)
    ),
    "online-params": lambda: OnlineRecommender(load_online_config()),
    "online-stacked": lambda: OnlineRecommender(
        OnlineConfig(rating_blend=True, blend_forgetting=0.99, transition_weight=0.5)
    ),
    "online-item-item": lambda: OnlineRecommender(
        OnlineConfig(transition_weight=1.0, item_weight=0.5, item_lambda=5.0,
                     item_refit_every=150, item_max_items=40)
    ),
    "river-mf": lambda: RiverMF(),
    "popularity": lambda: Popularity(),
    "trending": lambda: Popularity(half_life=20),
}


@pytest.mark.parametrize("check", list(yield_checks()), ids=lambda c: c.__name__)
@pytest.mark.parametrize("make", list(ESTIMATORS.values()), ids=list(ESTIMATORS))
def test_check(make, check):
    check(make)
