"""The record of what a worker's own events did to the item side, between two deltas."""

from __future__ import annotations

import time

import numpy as np

from .delta import ItemDelta

__all__ = ["ItemJournal"]


class ItemJournal:
    """Attached to an :class:`~reelstream.models.OnlineRecommender` (``model.item_journal``),
    it sees each event just before the model learns it.

    The first time a movie is touched after a delta, its factors and bias are copied
    (``base``); :meth:`collect` then publishes ``current - base`` for those movies, plus the
    events themselves (movie, rating, the rater's recent movies). Deltas received from other
    workers are added to ``base`` too (:func:`~reelstream.item_sync.apply_delta`), so they
    are never published again as this worker's own.
    """

    def __init__(self, publisher: str) -> None:
        self.publisher = publisher
        self.sequence = 0
        self.base: dict[int, tuple[np.ndarray | None, float]] = {}  # row -> (factors, bias)
        self._rows: list[int] = []
        self._ratings: list[float] = []
        self._recent: list[tuple[int, ...]] = []

    def __len__(self) -> int:
        return len(self._rows)

    def record(self, model, user: int, row: int, y: float) -> None:  # noqa: ANN001
        """Called by the model before it learns ``(user, row, y)``."""
        base = self.base
        if row not in base:
            base[row] = model.mf.item_state(row)
        self._rows.append(row)
        self._ratings.append(y)
        history = model.transitions.history.get(user) if model.config.transition_weight else None
        self._recent.append(tuple(history) if history else ())

    def collect(self, model) -> ItemDelta | None:  # noqa: ANN001
        """This worker's contribution since the last call (None when it learned nothing),
        as a delta by movie id; the journal starts afresh."""
        if not self._rows:
            return None
        mf = model.mf
        ids = model.index.ids
        rows = list(self.base)
        zeros = np.zeros(mf.n_factors)  # an item unseen before (or still unseen) starts at 0
        before = self.base.values()
        factors = mf.item_factors_of(rows) - np.array(
            [zeros if q0 is None else q0 for q0, _ in before]
        ).reshape(len(rows), -1)
        biases = np.array(mf.item_biases_of(rows)) - np.fromiter(
            (b0 for _, b0 in before), dtype=np.float64, count=len(rows)
        )
        lengths = np.fromiter(map(len, self._recent), dtype=np.int64, count=len(self._recent))
        flat = [r for recent in self._recent for r in recent]
        delta = ItemDelta(
            publisher=self.publisher,
            sequence=self.sequence,
            movie_ids=ids[np.array(rows, dtype=np.int64)],
            factor_deltas=factors,
            bias_deltas=biases,
            event_movies=ids[np.array(self._rows, dtype=np.int64)],
            event_ratings=np.array(self._ratings, dtype=np.float64),
            recent_lengths=lengths,
            recent_ids=ids[np.array(flat, dtype=np.int64)] if flat else np.zeros(0, np.int64),
            created_at=time.time(),
        )
        self.sequence += 1
        self.clear()
        return delta

    def clear(self) -> None:
        """Forget what was recorded (e.g. events re-learned on recovery, already shared)."""
        self.base = {}
        self._rows, self._ratings, self._recent = [], [], []
