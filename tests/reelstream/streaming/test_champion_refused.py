"""A champion with NaN or wrong shapes is refused; the worker keeps its model (pure)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from reelstream.models import OnlineRecommender
from reelstream.models.batch import BatchModel
from reelstream.streaming import wiring
from reelstream.streaming.promotion import check_champion
from reelstream.training.registry import Champion


def _champion(**overrides) -> Champion:
    users, items, k = 4, 6, 3
    rng = np.random.default_rng(0)
    arrays = dict(
        user_ids=np.arange(1, users + 1), movie_ids=np.arange(1, items + 1),
        user_factors=rng.normal(size=(users, k)).astype(np.float32),
        item_factors=rng.normal(size=(items, k)).astype(np.float32),
        user_bias=np.zeros(users, np.float32), item_bias=np.zeros(items, np.float32),
        global_mean=3.5, item_popularity=np.ones(items),
    )
    arrays.update(overrides)
    return Champion("7", BatchModel(**arrays))


def test_a_sound_champion_passes():
    check_champion(_champion())


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"item_factors": np.full((6, 3), np.nan, np.float32)}, "NaN"),
        ({"user_bias": np.array([0, np.inf, 0, 0], np.float32)}, "NaN or infinite"),
        ({"item_factors": np.zeros((5, 3), np.float32)}, "shape"),
        ({"user_factors": np.zeros((4, 2), np.float32)}, "shape"),
        ({"global_mean": float("nan")}, "global_mean"),
    ],
)
def test_a_broken_champion_is_refused(overrides, reason):
    with pytest.raises(ValueError, match=reason):
        check_champion(_champion(**overrides))


def test_the_worker_keeps_its_model_when_the_champion_is_refused(monkeypatch):
    class Processor:
        model = OnlineRecommender()

        def checkpoint(self):
            raise AssertionError("a refused champion must not be checkpointed")

    processor = Processor()
    before = processor.model
    bad = _champion(item_factors=np.full((6, 3), np.nan, np.float32))
    monkeypatch.setattr(wiring, "fetch_new_champion", lambda settings, base: bad)
    assert asyncio.run(wiring._adopt(None, processor, asyncio.Lock())) is True  # an answer: not retried
    assert processor.model is before
