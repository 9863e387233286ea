"""Beyond accuracy: what the served top-N lists look like across users.

* **coverage**: share of the catalogue shown to at least one user;
* **popularity percentile**: mean, over every shown movie, of its rank by rating count divided
  by the catalogue size (0 % = the most-rated movie, 50 % = the median movie);
* **genre diversity**: mean over lists of ``1 - Jaccard(genres_a, genres_b)`` over all pairs of
  movies in the list (0 = every movie has the same genres).

>>> lists = np.array([[0, 1], [0, 2]])
>>> m = list_metrics(lists, np.array([10.0, 5.0, 1.0, 0.0]), [{"a"}, {"a"}, {"b"}, set()])
>>> m["coverage"], m["popularity_percentile"], m["genre_diversity"]
(0.75, 0.1875, 0.5)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["list_metrics", "popularity_percentile"]


def popularity_percentile(counts: np.ndarray) -> np.ndarray:
    """Each movie's rank by count (most-rated first, ties by column) over the catalogue size."""
    counts = np.asarray(counts, dtype=np.float64)
    order = np.lexsort((np.arange(counts.size), -counts))
    rank = np.empty(counts.size, dtype=np.float64)
    rank[order] = np.arange(counts.size)
    return rank / max(counts.size, 1)


def _genre_diversity(lists: np.ndarray, genres: Sequence[set[str]]) -> float:
    values = []
    for items in lists:
        sets = [genres[i] for i in items]
        pairs = [
            1.0 - (len(a & b) / len(a | b) if a | b else 1.0)
            for n, a in enumerate(sets) for b in sets[n + 1:]
        ]
        if pairs:
            values.append(float(np.mean(pairs)))
    return float(np.mean(values)) if values else 0.0


def list_metrics(
    lists: np.ndarray, counts: np.ndarray, genres: Sequence[set[str]] | None = None
) -> dict[str, float]:
    """Coverage, mean popularity percentile and (with ``genres``) diversity of ``lists``.

    ``lists`` holds catalogue columns, one row per user; ``counts`` the training rating count
    of each column; ``genres`` the genre set of each column.
    """
    lists = np.asarray(lists, dtype=np.int64)
    n_items = len(counts)
    out = {
        "coverage": float(np.unique(lists).size / n_items) if n_items else 0.0,
        "popularity_percentile": float(popularity_percentile(counts)[lists].mean())
        if lists.size else 0.0,
    }
    if genres is not None:
        out["genre_diversity"] = _genre_diversity(lists, genres)
    return out
