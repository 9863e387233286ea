from __future__ import annotations

import pytest

from reelstream.models import Popularity
from reelstream.models.decayed_counts import DecayedCounts
from reelstream.models.item_index import ItemIndex
from reelstream.models.rated import RatedItems


def test_decayed_counts_halve_after_half_life():
    counts = DecayedCounts(half_life=10)
    counts.add(0)
    for _ in range(10):  # the event just added counts 1, ten events later 1/2
        counts.add(1, w=0.0)
    assert counts.values(2)[0] == pytest.approx(0.5, rel=1e-9)


def test_decayed_counts_renormalise_without_overflow():
    counts = DecayedCounts(half_life=1)
    for _ in range(2000):
        counts.add(0)
    assert counts.values(1)[0] == pytest.approx(2.0)


def test_index_grows_and_keeps_rows():
    index = ItemIndex()
    rows = [index.add(i * 7) for i in range(1000)]
    assert rows == list(range(1000)) and index.ids[999] == 999 * 7 and index.get(14) == 2


def test_rated_items_state_round_trip():
    rated = RatedItems()
    for u, r in [(1, 3), (1, 4), (2, 3)] + [(3, r) for r in range(50)]:
        rated.add(u, r)
    clone = RatedItems()
    clone.__setstate__(rated.__getstate__())
    assert clone.rows(3).tolist() == list(range(50)) and (2, 3) in clone


def test_popularity_predicts_shrunk_item_mean():
    model = Popularity(shrinkage=1.0)
    model.learn_many([(1, 10, 5.0), (2, 20, 3.0)])
    assert model.predict_one(3, 10) == pytest.approx((5.0 + 4.0) / 2)
    assert model.predict_one(3, 99) == pytest.approx(4.0)
