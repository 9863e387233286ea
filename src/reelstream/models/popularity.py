"""Online popularity: the baseline, the cold-start fallback and the global ``popular`` list."""

from __future__ import annotations

import numpy as np

from .base import Recommender
from .decayed_counts import DecayedCounts
from .item_index import grow

__all__ = ["Popularity"]


class Popularity(Recommender):
    """Ranks movies by how often they were rated, optionally forgetting old events (trending).

    Ratings are predicted by each movie's mean rating, shrunk towards the global mean.

    Parameters
    ----------
    half_life
        Events after which a rating counts half as much in the ranking; ``None`` ranks by
        all-time counts.
    shrinkage
        Pseudo-ratings at the global mean added to each movie's mean rating.

    Examples
    --------

    >>> model = Popularity()
    >>> model.learn_many([(1, 10, 4.0), (2, 10, 5.0), (2, 20, 3.0), (3, 30, 4.0), (3, 10, 2.0)])
    5
    >>> model.recommend(user=3, n=2)
    [(20, 1.0)]
    >>> model.popular(2)
    [(10, 3.0), (20, 1.0)]
    >>> model.source(99), model.recommend(99, n=1)
    ('popular', [(10, 3.0)])

    """

    def __init__(self, half_life: float | None = None, shrinkage: float = 5.0) -> None:
        super().__init__()
        self.half_life = half_life
        self.shrinkage = shrinkage
        self.counts = DecayedCounts(half_life)
        self._sum = np.zeros(64)
        self._n = np.zeros(64)
        self._total = 0.0

    def _learn(self, user, item, row, y, ts):
        if row >= len(self._sum):
            size = max(2 * len(self._sum), row + 1)
            self._sum, self._n = grow(self._sum, size), grow(self._n, size)
        self._sum[row] += y
        self._n[row] += 1
        self._total += y
        self.counts.add(row)

    @property
    def global_mean(self) -> float:
        return self._total / self.events_learned if self.events_learned else 0.0

    def predict_one(self, user: int, item: int) -> float:
        mu, k = self.global_mean, self.shrinkage
        row = self.index.get(item)
        if row is None:
            return mu
        return float((self._sum[row] + k * mu) / (self._n[row] + k))

    def _scores(self, user: int) -> np.ndarray:
        return self.counts.values(len(self.index))

    def source(self, user: int) -> str:
        return "popular"

    def popular(self, n: int = 10) -> list[tuple[int, float]]:
        """The ``n`` most (recently) rated movies with their decayed counts."""
        return self.recommend(user=-1, n=n, exclude_rated=False)

    @property
    def version(self) -> str:
        return f"popularity-hl{self.half_life}"
