"""The nightly item-item ranker: EASE, transitions, blend, explanations, persistence."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from reelstream.models.ease import fit_ease, prune_rows
from reelstream.models.item_ranker import ItemRanker, RankerWeights, top_shares_of_columns
from reelstream.models.sequence import fit_transitions

rng = np.random.default_rng(3)
N_USERS, N_ITEMS = 50, 30
ORDERS = [rng.choice(N_ITEMS, size=int(rng.integers(3, 15)), replace=False) for _ in range(N_USERS)]
BINARY = sp.csr_matrix(
    (np.ones(sum(len(o) for o in ORDERS), np.float32),
     (np.repeat(np.arange(N_USERS), [len(o) for o in ORDERS]), np.concatenate(ORDERS))),
    shape=(N_USERS, N_ITEMS),
)


def _ranker(weights=RankerWeights(5.0, 0.5, 1.0, 0.0), neighbours=0) -> ItemRanker:
    return ItemRanker(fit_ease(BINARY, 10.0, neighbours), fit_transitions(ORDERS, N_ITEMS),
                      np.asarray(BINARY.sum(axis=0)).ravel(), weights)


def test_ease_matches_the_closed_form():
    x = BINARY.toarray().astype(np.float64)
    p = np.linalg.inv(x.T @ x + 10.0 * np.eye(N_ITEMS))
    expected = np.eye(N_ITEMS) - p / np.diag(p)
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(fit_ease(BINARY, 10.0).toarray(), expected, atol=1e-4)


def test_pruning_keeps_the_strongest_weights_per_movie():
    dense = fit_ease(BINARY, 10.0).toarray()
    pruned = prune_rows(dense, 5)
    assert (pruned.getnnz(axis=1) <= 5).all()
    row = dense[0]
    kept = set(pruned[0].indices.tolist())
    assert min(abs(row[list(kept)])) >= max(abs(np.delete(row, list(kept))))


def test_max_items_fits_only_the_most_rated_movies():
    counts = np.asarray(BINARY.sum(axis=0)).ravel()
    weights = fit_ease(BINARY, 10.0, max_items=10)
    fitted = np.flatnonzero(weights.getnnz(axis=1) + weights.getnnz(axis=0))
    assert len(fitted) <= 10
    assert counts[fitted].min() >= np.sort(counts)[-10]


def test_transitions_follow_rating_order():
    t = fit_transitions([np.array([4, 2, 7])], n_items=8, window=2, decay=0.5)
    assert t[4, 2] > t[4, 7] > 0 and t[2, 4] == 0 and t[7, 4] == 0


def test_parts_add_up_to_the_score_differences():
    ranker = _ranker()
    history = ORDERS[0]
    scores = ranker.scores([history])[0]
    parts = ranker.contributions(history, np.arange(N_ITEMS)).sum(axis=0)
    # Equal up to one constant shared by every movie (the per-user means).
    np.testing.assert_allclose(scores - scores[0], parts - parts[0], atol=1e-6)


def test_explanations_are_rated_movies_with_shares_that_sum_sensibly():
    ranker = _ranker()
    history = ORDERS[1]
    items = np.setdiff1d(np.arange(N_ITEMS), history)[:8]
    full = ranker.explain(history, items, top=len(history))
    shown = ranker.explain(history, items, top=2)
    for reasons, top2 in zip(full, shown, strict=True):
        if not reasons:
            continue
        assert {m for m, _ in reasons} <= set(history.tolist())
        assert sum(s for _, s in reasons) == pytest.approx(1.0, abs=1e-3)
        assert all(s > 0 for _, s in reasons)
        assert [s for _, s in reasons] == sorted((s for _, s in reasons), reverse=True)
        assert top2 == reasons[:2] and sum(s for _, s in top2) <= 1.0 + 1e-3


def test_newest_ratings_weigh_more():
    ranker = _ranker(RankerWeights(1.0, 0.0, 1.0, 0.0))
    history = ORDERS[2]
    parts = ranker.contributions(history, np.arange(N_ITEMS))
    magnitude = np.abs(parts).sum(axis=1)
    assert magnitude[-1] > magnitude[0]


def test_round_trips_through_arrays():
    ranker = _ranker(neighbours=10)
    clone = ItemRanker.from_arrays(ranker.to_arrays())
    np.testing.assert_array_equal(clone.scores(ORDERS[:5]), ranker.scores(ORDERS[:5]))
    assert clone.weights == ranker.weights


def test_scores_do_not_mutate_the_history():
    history = ORDERS[3].copy()
    _ranker().scores([history])
    np.testing.assert_array_equal(history, ORDERS[3])


def _shares_one_by_one(parts, sources, top):
    """The plain reading of a share: per source, its summed part over all positive parts."""
    by_source: dict[int, float] = {}
    for source, part in zip(sources.tolist(), parts.tolist(), strict=True):
        by_source[source] = by_source.get(source, 0.0) + part
    positive = {m: p for m, p in by_source.items() if p > 0}
    total = sum(positive.values())
    best = sorted(positive.items(), key=lambda mp: (-mp[1], mp[0]))[:top]
    return [(m, round(p / total, 4)) for m, p in best]


def test_shares_of_all_columns_at_once_equal_each_column_read_alone():
    rng = np.random.default_rng(3)
    sources = rng.integers(0, 12, 30)  # repeated sources: their parts add up
    parts = np.round(rng.normal(size=(30, 25)), 1)  # rounded: ties between sources
    parts[:, 0] = -1.0  # nothing positive: no reason
    got = top_shares_of_columns(parts, sources, 3)
    assert got == [_shares_one_by_one(column, sources, 3) for column in parts.T]
    assert got[0] == [] and any(len(r) == 3 for r in got[1:])
