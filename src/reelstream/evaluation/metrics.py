"""Offline metrics, vectorised over a batch of users.

Relevance is binary (a held-out rating at or above a threshold). NDCG uses the standard
``1 / log2(rank + 1)`` gain, normalised by the ideal DCG of ``min(|relevant|, k)`` hits;
recall divides by all of the user's relevant items (including movies absent from training,
which no model can recommend — every model pays the same price).
"""

from __future__ import annotations

import numpy as np

__all__ = ["rmse", "top_k", "ranking_metrics", "coverage"]


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error.

    >>> rmse(np.array([1.0, 3.0]), np.array([2.0, 3.0]))
    0.7071...
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.size == 0:
        return float("nan")
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` highest scores of each row, best first (``-inf`` = excluded).

    >>> top_k(np.array([[0.1, 0.9, 0.5], [3.0, 2.0, 1.0]]), 2).tolist()
    [[1, 2], [0, 1]]
    """
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def ranking_metrics(
    hits: np.ndarray, n_relevant: np.ndarray, k: int
) -> dict[str, np.ndarray]:
    """Per-user NDCG@k, recall@k, precision@k from a hit matrix.

    ``hits[u, r]`` is True when the item at rank ``r`` (0-based) of user ``u`` is relevant;
    ``n_relevant[u]`` is the number of relevant items of ``u`` (must be > 0).

    >>> m = ranking_metrics(np.array([[True, False, True]]), np.array([2]), k=3)
    >>> round(float(m["ndcg"][0]), 4), float(m["recall"][0]), round(float(m["precision"][0]), 4)
    (0.9197, 1.0, 0.6667)
    """
    hits = np.asarray(hits, dtype=bool)[:, :k]
    n_relevant = np.asarray(n_relevant, dtype=np.float64)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits * discounts[: hits.shape[1]]).sum(axis=1)
    ideal_cum = np.concatenate([[0.0], np.cumsum(discounts)])
    idcg = ideal_cum[np.minimum(n_relevant, k).astype(np.int64)]
    n_hits = hits.sum(axis=1)
    return {
        "ndcg": dcg / idcg,
        "recall": n_hits / n_relevant,
        "precision": n_hits / float(k),
    }


def coverage(recommended: np.ndarray, n_items: int) -> float:
    """Share of the catalogue that appears in at least one user's list.

    >>> coverage(np.array([[0, 1], [1, 2]]), n_items=6)
    0.5
    """
    if n_items == 0:
        return 0.0
    return float(np.unique(np.asarray(recommended).ravel()).size / n_items)
