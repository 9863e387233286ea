"""The contract every online recommender of reelstream fulfils.

Like :class:`river.reco.base.Ranker`, a subclass implements learning and scoring once, and the
rest (``learn_many``, ``recommend``, ``rank``, checkpoints) is written here on top. Scoring is
vectorised: ``_scores(user)`` returns one score per known movie (by :class:`ItemIndex` row),
so a top-N over all movies is a few numpy calls, never a Python loop over movies.
"""

from __future__ import annotations

import abc
import copy
import pickle
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import numpy as np

from .item_index import ItemIndex
from .rated import RatedItems

__all__ = ["Recommender", "top_n", "as_triple"]

#: Ratings as the models see them: (user_id, movie_id, rating, timestamp or None).
Event = Any


def as_triple(event: Event) -> tuple[int, int, float, float | None]:
    """``(user, item, rating, unix_seconds | None)`` from a :class:`RatingEvent`, a mapping
    with ``user_id``/``movie_id``/``rating`` keys, or a tuple ``(user, item, rating[, ts])``."""
    if isinstance(event, tuple | list):
        ts = event[3] if len(event) > 3 else None
        return int(event[0]), int(event[1]), float(event[2]), _seconds(ts)
    if isinstance(event, Mapping):
        return (
            int(event["user_id"]),
            int(event["movie_id"]),
            float(event["rating"]),
            _seconds(event.get("timestamp")),
        )
    return (
        int(event.user_id),
        int(event.movie_id),
        float(event.rating),
        _seconds(getattr(event, "timestamp", None)),
    )


def _seconds(ts) -> float | None:
    if ts is None:
        return None
    if isinstance(ts, datetime):
        return ts.timestamp()
    return float(ts)


def top_n(
    scores: np.ndarray, n: int, exclude: np.ndarray | None = None, *, overwrite: bool = False
) -> np.ndarray:
    """Rows of the ``n`` highest ``scores`` (best first), never one of ``exclude``.

    Ties are broken by the lower row (the movie seen first), so the result equals a stable
    ``argsort`` of ``-scores``. On a large array, a threshold no higher than the ``n``-th
    best score is read off the maxima of ``_GROUPS`` disjoint groups of rows (the ``n``-th
    largest group maximum: ``n`` groups each hold a score at least that high); only the few
    rows at or above it are then sorted. Otherwise ``argpartition`` then a sort of the
    ``n`` winners. ``overwrite=True`` lets excluded scores be set to ``-inf`` in place.

    Examples
    --------

    >>> top_n(np.array([0.1, 0.9, 0.5, 0.9]), 2, exclude=np.array([1])).tolist()
    [3, 2]

    """
    size = m = len(scores)
    if exclude is not None and len(exclude):
        if not overwrite:
            scores = scores.copy()
        scores[exclude] = -np.inf
        size -= len(exclude)
    n = min(n, size)
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    rows = None
    if n < m:
        groups = _GROUPS if m >= _MIN_GROUPED and 4 * n <= _GROUPS else 0
        if groups:
            # row r belongs to group r % groups (contiguous rows: one vectorised max)
            width = m // groups
            maxima = scores[: width * groups].reshape(width, groups).max(axis=0)
            threshold = np.partition(maxima, groups - n)[groups - n]
            if threshold > -np.inf:
                rows = (scores >= threshold).nonzero()[0]
                if len(rows) > _GROUPS:  # a flat top: narrow the candidates down first
                    sub = scores[rows]
                    best = np.argpartition(sub, len(sub) - n)[len(sub) - n :]
                    rows = rows[sub >= sub[best].min()]
        if rows is None:
            rows = np.argpartition(scores, m - n)[m - n :]
            threshold = scores[rows].min()
            if np.count_nonzero(scores >= threshold) > n:
                # argpartition cut a group of equal scores: keep the whole group, sort it below.
                rows = np.flatnonzero(scores >= threshold)
    else:
        rows = np.arange(m)
    order = np.lexsort((rows, -scores[rows]))
    return rows[order[:n]]


#: Groups whose maxima bound a large top-N from below (see :func:`top_n`).
_GROUPS = 256
_MIN_GROUPED = 4096


class Recommender(abc.ABC):
    """Base class: an online model that learns rating events and ranks every known movie.

    Attributes
    ----------
    index : ItemIndex
        Movie id → row of the per-item arrays.
    rated : RatedItems
        The movies each user rated, excluded from their recommendations.
    events_learned : int
        Number of events learned so far (re-ratings included).

    """

    def __init__(self) -> None:
        self.index = ItemIndex()
        self.rated = RatedItems()
        self.events_learned = 0

    # --- to implement ----------------------------------------------------------------------
    @abc.abstractmethod
    def _learn(self, user: int, item: int, row: int, y: float, ts: float | None) -> None:
        """Update the model with one rating; ``row`` is the item's (maybe new) row."""

    @abc.abstractmethod
    def predict_one(self, user: int, item: int) -> float:
        """Predicted rating of ``item`` by ``user`` (never mutates the model)."""

    @abc.abstractmethod
    def _scores(self, user: int) -> np.ndarray:
        """Ranking score of every known movie for ``user``, one per row, in a new array."""

    # --- written once ----------------------------------------------------------------------
    @property
    def version(self) -> str:
        return type(self).__name__

    def learn_one(self, user: int, item: int, y: float, timestamp: float | None = None) -> None:
        """Learn that ``user`` rated ``item`` with ``y`` (``timestamp`` in unix seconds)."""
        row = self.index.add(item)
        self._learn(user, item, row, float(y), timestamp)
        self.rated.add(user, row)
        self.events_learned += 1

    def learn_many(self, events: Iterable[Event]) -> int:
        """Learn events in order (see :func:`as_triple` for accepted shapes); returns count."""
        n = 0
        for event in events:
            self.learn_one(*as_triple(event))
            n += 1
        return n

    def is_known(self, user: int) -> bool:
        """Whether ``user`` rated anything yet (otherwise recommendations are a cold start)."""
        return self.rated.count(user) > 0

    def source(self, user: int) -> str:
        """``"model"`` for a known user, ``"popular"`` for a cold start."""
        return "model" if self.is_known(user) else "popular"

    def scores(self, user: int) -> np.ndarray:
        """Ranking score of every known movie (by row) for ``user``."""
        return self._scores(user)

    def recommend(
        self, user: int, n: int = 10, exclude_rated: bool = True
    ) -> list[tuple[int, float]]:
        """Top-``n`` ``(movie_id, score)`` over all known movies, best first.

        Movies ``user`` already rated are left out unless ``exclude_rated`` is False.
        """
        if len(self.index) == 0:
            return []
        scores = self._scores(user)  # a fresh array: exclusions may overwrite it
        rows = top_n(scores, n, self.rated.rows(user) if exclude_rated else None, overwrite=True)
        return list(zip(self.index.ids[rows].tolist(), scores[rows].tolist(), strict=True))

    def has_rated(self, user: int, item: int) -> bool:
        row = self.index.get(item)
        return row is not None and (user, row) in self.rated

    def rank(self, user: int, items: Iterable[int]) -> list[int]:
        """``items`` by decreasing preference (river's :meth:`Ranker.rank` contract)."""
        items = list(items)
        scores = self._scores(user)
        known = {i: float(scores[r]) for i in items if (r := self.index.get(i)) is not None}
        return sorted(items, key=lambda i: known.get(i, -np.inf), reverse=True)

    def clone(self) -> Recommender:
        """A deep copy (same state, independent afterwards)."""
        return copy.deepcopy(self)

    def to_bytes(self) -> bytes:
        """Checkpoint of the whole state (see ``__getstate__`` of each class for its layout)."""
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def from_bytes(cls, data: bytes) -> Recommender:
        model = pickle.loads(data)
        if not isinstance(model, cls):
            raise TypeError(f"checkpoint holds a {type(model).__name__}, not a {cls.__name__}")
        return model

    def __repr__(self) -> str:
        return f"{type(self).__name__}(items={len(self.index)}, users={len(self.rated)}, events={self.events_learned})"
