"""Per-item counts with exponential forgetting, updated in O(1) per event."""

from __future__ import annotations

from array import array

import numpy as np

__all__ = ["DecayedCounts"]


class DecayedCounts:
    """Exponentially decayed counts by row; ``half_life=None`` keeps plain counts.

    Instead of decaying every count at each event, each new event adds a weight that grows
    by ``2 ** (1 / half_life)`` per event; relative values are what a ranking needs, and the
    scale is folded back in (``values()``) when read. Weights are renormalised before they
    overflow. Counts live in an ``array('d')`` (an add is a plain float add, no numpy call)
    read through a zero-copy numpy view.

    Parameters
    ----------
    half_life
        Number of events after which a past event counts half as much.

    Examples
    --------

    >>> counts = DecayedCounts(half_life=1)
    >>> counts.add(0); counts.add(1); counts.add(1)
    >>> counts.values(2).round(3).tolist()
    [0.25, 1.5]

    """

    def __init__(self, half_life: float | None = None) -> None:
        self.half_life = half_life
        self._growth = 1.0 if half_life is None else 2.0 ** (1.0 / half_life)
        self._weight = 1.0  # weight of the current event
        self._counts = array("d", bytes(8 * 64))
        self.total = 0.0

    def _grow(self, size: int) -> None:
        self._counts.frombytes(bytes(8 * (size - len(self._counts))))

    def add(self, row: int, w: float = 1.0) -> None:
        """Count one event of the item at ``row`` and advance the clock by one event."""
        counts = self._counts
        if row >= len(counts):
            self._grow(max(2 * len(counts), row + 1))
        weight = self._weight
        counts[row] += w * weight
        self.total += w * weight
        self._weight = weight = weight * self._growth
        if weight > 1e100:
            scaled = np.frombuffer(self._counts, dtype=np.float64) / weight
            self._counts = array("d", scaled.tobytes())
            self.total /= weight
            self._weight = 1.0

    def values(self, n: int) -> np.ndarray:
        """Decayed counts of rows ``0..n-1``, in units of "events now" (a new array)."""
        if n > len(self._counts):
            self._grow(n)
        return np.frombuffer(self._counts, dtype=np.float64, count=n) * (
            self._growth / self._weight
        )

    def log_values(self, n: int) -> np.ndarray:
        """``log1p`` of the decayed counts: a popularity feature on a rating-like scale."""
        return np.log1p(self.values(n))

    def __repr__(self) -> str:
        return f"DecayedCounts(half_life={self.half_life})"

