"""The batch model as plain arrays: what training produces, MLflow stores, the worker loads.

Everything is numpy (saved as one ``.npz``), so loading a champion needs no pickled code and
the streaming worker can warm-start its online model from ``item_factors``/``item_bias``.

Two scorers share the item index:

* **rating predictor** (biased MF): ``global_mean + user_bias[u] + item_bias[i] + p_u . q_i``
  — used for RMSE and by the online model;
* **ranker**: ``p_u . q_i + item_bias[i] + popularity_weight * log1p(popularity[i])`` on the
  standardised MF score, optionally replaced by implicit-feedback factors
  (``rank_user_factors``/``rank_item_factors``) when those are present. See
  :mod:`reelstream.models.batch_als` for why;
* or, when ``item_ranker`` is present, the item-item ranker of
  :mod:`reelstream.models.item_ranker` over each user's training history (``history_*``,
  oldest first), which also explains its scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from reelstream.models.item_ranker import ItemRanker
from reelstream.schemas import MAX_RATING, MIN_RATING

__all__ = ["BatchModel"]


@dataclass
class BatchModel:
    """Factors, biases and id maps of a trained batch model."""

    user_ids: np.ndarray  # (n_users,) int64, the external ids, index = row
    movie_ids: np.ndarray  # (n_items,) int64
    user_factors: np.ndarray  # (n_users, k) float32
    item_factors: np.ndarray  # (n_items, k) float32
    user_bias: np.ndarray  # (n_users,) float32
    item_bias: np.ndarray  # (n_items,) float32
    global_mean: float
    item_popularity: np.ndarray  # (n_items,) training rating counts
    popularity_weight: float = 0.0
    rank_user_factors: np.ndarray | None = None  # optional implicit-feedback ranker
    rank_item_factors: np.ndarray | None = None
    history_indptr: np.ndarray | None = None  # (n_users + 1,) rows into history_items
    history_items: np.ndarray | None = None  # item rows, each user's oldest first
    item_ranker: ItemRanker | None = None
    _user_index: dict[int, int] = field(default=None, init=False, repr=False)  # type: ignore[assignment]
    _item_index: dict[int, int] = field(default=None, init=False, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self._user_index = {int(u): i for i, u in enumerate(self.user_ids)}
        self._item_index = {int(m): i for i, m in enumerate(self.movie_ids)}

    # ---- lookups ------------------------------------------------------------------------
    @property
    def n_factors(self) -> int:
        return int(self.item_factors.shape[1])

    def user_index(self, user_ids: np.ndarray) -> np.ndarray:
        """Row of each user, -1 when unknown."""
        return np.array([self._user_index.get(int(u), -1) for u in user_ids], dtype=np.int64)

    def item_index(self, movie_ids: np.ndarray) -> np.ndarray:
        """Row of each movie, -1 when unknown."""
        return np.array([self._item_index.get(int(m), -1) for m in movie_ids], dtype=np.int64)

    # ---- scoring ------------------------------------------------------------------------
    def predict(self, user_ids: np.ndarray, movie_ids: np.ndarray) -> np.ndarray:
        """Predicted ratings; unknown users/movies fall back to the biases we do know."""
        u = self.user_index(np.asarray(user_ids))
        i = self.item_index(np.asarray(movie_ids))
        ku, ki = u >= 0, i >= 0
        pred = np.full(u.shape, self.global_mean, dtype=np.float64)
        pred[ku] += self.user_bias[u[ku]]
        pred[ki] += self.item_bias[i[ki]]
        both = ku & ki
        pred[both] += np.einsum(
            "ij,ij->i", self.user_factors[u[both]], self.item_factors[i[both]]
        )
        return np.clip(pred, MIN_RATING, MAX_RATING)

    def history(self, user_row: int) -> np.ndarray:
        """Item rows the user rated in training, oldest first (empty without histories)."""
        if self.history_indptr is None or self.history_items is None:
            return np.zeros(0, dtype=np.int64)
        lo, hi = self.history_indptr[user_row], self.history_indptr[user_row + 1]
        return np.asarray(self.history_items[lo:hi], dtype=np.int64)

    def explain(
        self, history_movies: np.ndarray, movie_ids: np.ndarray, top: int = 3
    ) -> list[list[tuple[int, float]]]:
        """For each movie: the rated movies (``(movie_id, share)``) its score owes most to.

        ``history_movies`` are the user's rated movie ids, oldest first; empty lists when the
        ranker is not item-based or a movie is unknown.
        """
        movie_ids = np.asarray(movie_ids, dtype=np.int64)
        if self.item_ranker is None:
            return [[] for _ in movie_ids]
        hist = self.item_index(np.asarray(history_movies, dtype=np.int64))
        hist = hist[hist >= 0]
        cols = self.item_index(movie_ids)
        known = cols >= 0
        parts = self.item_ranker.explain(hist, cols[known], top)
        out: list[list[tuple[int, float]]] = [[] for _ in movie_ids]
        for slot, reasons in zip(np.flatnonzero(known).tolist(), parts, strict=True):
            out[slot] = [(int(self.movie_ids[r]), share) for r, share in reasons]
        return out

    def rank_scores(self, user_rows: np.ndarray) -> np.ndarray:
        """Ranking scores of every item for a batch of user rows, shape (len(rows), n_items)."""
        if self.item_ranker is not None:
            return self.item_ranker.scores([self.history(int(r)) for r in user_rows])
        if self.rank_user_factors is not None and self.rank_item_factors is not None:
            scores = self.rank_user_factors[user_rows] @ self.rank_item_factors.T
        else:
            scores = self.user_factors[user_rows] @ self.item_factors.T + self.item_bias
        scores = np.asarray(scores, dtype=np.float64)
        if self.popularity_weight:
            # Standardise per user so the weight means the same for every user.
            mean = scores.mean(axis=1, keepdims=True)
            std = scores.std(axis=1, keepdims=True) + 1e-12
            pop = np.log1p(self.item_popularity)
            pop = (pop - pop.mean()) / (pop.std() + 1e-12)
            scores = (scores - mean) / std + self.popularity_weight * pop
        return scores

    # ---- persistence --------------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for f in fields(self):
            if not f.init:
                continue
            value = getattr(self, f.name)
            if isinstance(value, ItemRanker):
                out.update(value.to_arrays())
                continue
            if value is not None:
                out[f.name] = np.asarray(value)
        return out

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            np.savez_compressed(fh, **self.to_arrays())
        return path

    @classmethod
    def load(cls, path: str | Path) -> BatchModel:
        with np.load(Path(path), allow_pickle=False) as data:
            kwargs = {name: data[name] for name in data.files}
        kwargs["global_mean"] = float(kwargs["global_mean"])
        kwargs["popularity_weight"] = float(kwargs.get("popularity_weight", 0.0))
        ranker_keys = [k for k in kwargs if k.startswith("ranker_")]
        if ranker_keys:
            kwargs["item_ranker"] = ItemRanker.from_arrays({k: kwargs.pop(k) for k in ranker_keys})
        return cls(**kwargs)
