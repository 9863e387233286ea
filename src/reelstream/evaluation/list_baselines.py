"""Published top-N baselines, each a ``fit(data, **setting) -> scores(rows)`` with a small grid.

The grids are chosen on the validation split (:mod:`reelstream.evaluation.compare`); every
baseline ranks from the who-rated-what matrix of :class:`~reelstream.evaluation.protocol.
Interactions` (ratings only decide relevance in the held-out part).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from reelstream.evaluation.protocol import Interactions, Scores
from reelstream.models.ease import fit_ease, prune_rows
from reelstream.models.item_ranker import ItemRanker, RankerWeights
from reelstream.models.sequence import fit_transitions

__all__ = ["BASELINES", "Baseline", "fit_ours"]

Fit = Callable[..., Scores]


def _dense_scores(history: sp.csr_matrix, weights: sp.csr_matrix | np.ndarray) -> Scores:
    def scores(rows: np.ndarray) -> np.ndarray:
        out = history[rows] @ weights
        return out.toarray() if sp.issparse(out) else np.asarray(out)

    return scores


def fit_popularity(data: Interactions) -> Scores:
    counts = data.popularity
    return lambda rows: np.broadcast_to(counts, (len(rows), counts.size)).copy()


def fit_item_knn(data: Interactions, shrink: float = 100.0, neighbours: int = 100) -> Scores:
    """Cosine item-item similarity with shrinkage, ``neighbours`` kept per movie."""
    x = data.binary.astype(np.float32)
    gram = (x.T @ x).toarray()
    norms = np.sqrt(np.diag(gram)).copy()
    sim = gram / (norms[:, None] * norms[None, :] + shrink + 1e-9)
    np.fill_diagonal(sim, 0.0)
    return _dense_scores(x, prune_rows(sim, neighbours))


def fit_rp3beta(
    data: Interactions, alpha: float = 0.5, beta: float = 0.25, neighbours: int = 100
) -> Scores:
    """Random walk user→movie→user→movie with popularity damping (Paudel et al. 2017)."""
    x = data.binary.astype(np.float32)
    user_to_item = sp.diags(1.0 / np.maximum(np.asarray(x.sum(axis=1)).ravel(), 1)) @ x
    item_to_user = sp.diags(1.0 / np.maximum(np.asarray(x.sum(axis=0)).ravel(), 1)) @ x.T
    user_to_item.data **= alpha
    item_to_user = item_to_user.tocsr()
    item_to_user.data **= alpha
    walk = (item_to_user @ user_to_item).toarray()
    walk /= np.maximum(data.popularity, 1.0)[None, :] ** beta
    np.fill_diagonal(walk, 0.0)
    return _dense_scores(x, prune_rows(walk, neighbours))


def fit_ials(
    data: Interactions, factors: int = 128, reg: float = 0.05, alpha: float = 1.0,
    iterations: int = 15, seed: int = 42,
) -> Scores:
    """Implicit ALS (the ``implicit`` library) on who-rated-what, confidence ``1 + alpha``."""
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(factors=factors, regularization=reg, alpha=alpha,
                                        iterations=iterations, random_state=seed)
        model.fit(data.binary.astype(np.float32), show_progress=False)
    users, items = np.asarray(model.user_factors), np.asarray(model.item_factors)
    return lambda rows: users[rows] @ items.T


def fit_ease_plain(data: Interactions, lam: float = 200.0) -> Scores:
    return _dense_scores(data.binary.astype(np.float32), fit_ease(data.binary, lam).toarray())


def fit_ours(data: Interactions, **setting: Any) -> Scores:
    """The nightly ranker (:class:`~reelstream.models.item_ranker.ItemRanker`) on ``data``."""
    ranker = ranker_for(data, **setting)
    return lambda rows: ranker.scores([data.order[r] for r in rows])


def ranker_for(
    data: Interactions, ease_lambda: float = 600.0, ease_neighbours: int = 100,
    history_halflife: float = 5.0, transition_weight: float = 0.25,
    transition_halflife: float = 1.0, popularity_weight: float = 0.0,
    transition_window: int = 5, transition_decay: float = 0.8,
    transition_neighbours: int = 200, ease_max_items: int = 0,
) -> ItemRanker:
    n = data.ratings.shape[1]
    return ItemRanker(
        ease=fit_ease(data.binary, ease_lambda, ease_neighbours, ease_max_items),
        transitions=fit_transitions(data.order, n, transition_window, transition_decay,
                                    transition_neighbours),
        popularity=data.popularity,
        weights=RankerWeights(history_halflife, transition_weight, transition_halflife,
                              popularity_weight),
    )


class Baseline:
    """A named model with its validation grid (one dict of keyword arguments per setting)."""

    def __init__(self, name: str, fit: Fit, grid: list[dict[str, Any]]) -> None:
        self.name, self.fit, self.grid = name, fit, grid or [{}]


BASELINES = [
    Baseline("popularity", fit_popularity, [{}]),
    Baseline("ItemKNN (cosine)", fit_item_knn,
             [{"shrink": s, "neighbours": k} for s in (10.0, 100.0) for k in (50, 200)]),
    Baseline("RP3beta", fit_rp3beta,
             [{"alpha": a, "beta": b} for a in (0.5, 1.0) for b in (0.25, 0.5)]),
    Baseline("iALS (implicit)", fit_ials,
             [{"factors": 128, "reg": r, "alpha": a} for r in (5.0, 20.0, 50.0)
              for a in (0.5, 1.0)]),
    Baseline("EASE", fit_ease_plain, [{"lam": v} for v in (100.0, 200.0, 400.0)]),
]
