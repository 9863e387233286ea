"""Baselines scored by the same harness as the batch model."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["PopularityModel"]


class PopularityModel:
    """Recommend the most-rated movies; predict every rating as the training mean.

    >>> m = PopularityModel.fit(pd.DataFrame({"user_id": [1, 2, 2], "movie_id": [7, 7, 8],
    ...                                       "rating": [4.0, 2.0, 3.0]}))
    >>> m.rank_scores(np.array([0])).tolist(), m.predict(np.array([1]), np.array([8])).tolist()
    ([[2.0, 1.0]], [3.0])
    """

    def __init__(self, user_ids: np.ndarray, movie_ids: np.ndarray, counts: np.ndarray,
                 global_mean: float) -> None:
        self.user_ids, self.movie_ids = user_ids, movie_ids
        self.counts = counts.astype(np.float64)
        self.global_mean = global_mean
        self._user_index = {int(u): i for i, u in enumerate(user_ids)}
        self._item_index = {int(m): i for i, m in enumerate(movie_ids)}

    @classmethod
    def fit(cls, train: pd.DataFrame) -> PopularityModel:
        items, counts = np.unique(train["movie_id"].to_numpy(np.int64), return_counts=True)
        users = np.unique(train["user_id"].to_numpy(np.int64))
        return cls(users, items, counts, float(train["rating"].mean()))

    def user_index(self, user_ids: np.ndarray) -> np.ndarray:
        return np.array([self._user_index.get(int(u), -1) for u in user_ids], dtype=np.int64)

    def item_index(self, movie_ids: np.ndarray) -> np.ndarray:
        return np.array([self._item_index.get(int(m), -1) for m in movie_ids], dtype=np.int64)

    def predict(self, user_ids: np.ndarray, movie_ids: np.ndarray) -> np.ndarray:
        return np.full(len(movie_ids), self.global_mean)

    def rank_scores(self, user_rows: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.counts, (len(user_rows), self.counts.size)).copy()
