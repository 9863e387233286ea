"""Item-to-item transitions learned online: "users who rated X then rated Y"."""

from __future__ import annotations

import numpy as np

__all__ = ["Transitions"]


class Transitions:
    """Sparse decayed counts of ``j → i``: ``i`` rated by a user within ``window`` ratings
    after ``j``, scored for a user from their last ``window`` movies, vectorised.

    When a user rates the item at row ``i``, every item ``j`` among their last ``window``
    movies gets ``C[j, i] += position_decay ** (d - 1)`` (``d = 1`` for the previous movie),
    and ``C[i, j]`` gets ``reverse_weight`` times that. The score of a user for every item is
    then ``sum_j position_decay ** (d_j - 1) * C[j, :] / n_j ** norm_power``, where ``n_j`` is
    the total weight leaving ``j``: ``norm_power = 1`` makes each recent movie contribute a
    probability distribution over what comes next.

    Rows of ``C`` are stored as numpy ``(cols, vals)`` pairs with new entries kept in a short
    Python list and merged on read, so an update is a few list appends and a score is one
    fancy-indexed add per recent movie.

    Parameters
    ----------
    window
        Number of each user's most recent movies linked to the next one (and used to score).
    position_decay
        Weight of a link per step of distance (``1`` = all movies in the window count alike).
    reverse_weight
        Weight of ``i → j`` links relative to ``j → i`` (``0`` = directed transitions only).
    norm_power
        Exponent of the normalisation by each source item's outgoing weight.

    Examples
    --------

    >>> tr = Transitions(window=2, position_decay=0.5, reverse_weight=0.0, norm_power=0.0)
    >>> for user, row in [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1)]:
    ...     tr.add(user, row)
    >>> tr.row(0).tolist()  # 0 -> 1 twice (previous movie), 0 -> 2 once at distance 2
    [0.0, 2.0, 0.5]
    >>> tr.scores(2, 3).tolist()  # user 2's last movies: 1 (weight 1), 0 (weight 0.5)
    [0.0, 1.0, 1.25]

    """

    #: Pending links of a row beyond which they are merged at once (bounds memory).
    MAX_PENDING = 256

    def __init__(
        self,
        window: int = 5,
        position_decay: float = 0.8,
        reverse_weight: float = 0.0,
        norm_power: float = 1.0,
    ) -> None:
        self.window = window
        self.position_decay = position_decay
        self.reverse_weight = reverse_weight
        self.norm_power = norm_power
        self._weights = [position_decay**d for d in range(window)]
        self.history: dict[int, list[int]] = {}
        self._cols: list[np.ndarray] = []
        self._vals: list[np.ndarray] = []
        self._pending: list[list[tuple[int, float]]] = []
        self._totals: list[float] = []  # weight leaving each row

    def __len__(self) -> int:
        return len(self._cols)

    def _ensure(self, row: int) -> None:
        while len(self._cols) <= row:
            self._cols.append(np.zeros(0, dtype=np.int32))
            self._vals.append(np.zeros(0))
            self._pending.append([])
            self._totals.append(0.0)

    def add(self, user: int, row: int) -> None:
        """Link ``row`` to ``user``'s recent movies, then push it onto their history."""
        if row >= len(self._cols):
            self._ensure(row)
        recent = self.history.get(user)
        if recent is None:
            self.history[user] = [row]
            return
        pending, totals, back = self._pending, self._totals, self.reverse_weight
        limit = self.MAX_PENDING
        for w, j in zip(self._weights, reversed(recent), strict=False):
            if j == row:
                continue
            links = pending[j]
            links.append((row, w))
            totals[j] += w
            if len(links) > limit:
                self._merge(j)
            if back:
                pending[row].append((j, back * w))
                totals[row] += back * w
                if len(pending[row]) > self.MAX_PENDING:
                    self._merge(row)
        recent.append(row)
        if len(recent) > self.window:
            del recent[0]

    def _merge(self, j: int) -> None:
        pending = self._pending[j]
        if not pending:
            return
        cols = np.fromiter((c for c, _ in pending), dtype=np.int32, count=len(pending))
        vals = np.fromiter((v for _, v in pending), dtype=np.float64, count=len(pending))
        cols = np.concatenate([self._cols[j], cols])
        vals = np.concatenate([self._vals[j], vals])
        uniq, inverse = np.unique(cols, return_inverse=True)
        self._cols[j] = uniq.astype(np.int32)
        self._vals[j] = np.bincount(inverse, weights=vals, minlength=len(uniq))
        pending.clear()

    def row(self, j: int, n: int | None = None) -> np.ndarray:
        """Dense weights ``C[j, :n]`` (``n`` defaults to the number of rows)."""
        n = len(self) if n is None else n
        out = np.zeros(n)
        if j < len(self._cols):
            self._merge(j)
            keep = self._cols[j] < n
            out[self._cols[j][keep]] = self._vals[j][keep]
        return out

    def recent(self, user: int) -> list[int]:
        """``user``'s last ``window`` rows, oldest first."""
        return list(self.history.get(user, ()))

    def scores(self, user: int, n: int, out: np.ndarray | None = None) -> np.ndarray:
        """Transition score of items ``0..n-1`` for ``user``, added into ``out`` if given
        (which must be zero when a fresh score is wanted); returns ``out``."""
        if out is None:
            out = np.zeros(n)
        self.scores_into(user, out)
        return out

    def scores_into(self, user: int, out: np.ndarray, scale: float = 1.0) -> np.ndarray | None:
        """Add ``scale`` times ``user``'s transition scores into ``out`` at the rows they
        reach only; returns those rows (maybe repeated), or None when none."""
        recent = self.history.get(user)
        if not recent:
            return None
        power, touched = self.norm_power, []
        for w, j in zip(self._weights, reversed(recent), strict=False):
            total = self._totals[j]
            if total <= 0:
                continue
            self._merge(j)
            cols = self._cols[j]
            w *= scale
            if power:
                w = w / total**power
            out[cols] += w * self._vals[j]
            touched.append(cols)
        if not touched:
            return None
        return touched[0] if len(touched) == 1 else np.concatenate(touched)

    # Compact state: merge every pending list into the arrays.
    def __getstate__(self) -> dict:
        for j in range(len(self._cols)):
            self._merge(j)
        return self.__dict__.copy()

    def __repr__(self) -> str:
        return f"Transitions(window={self.window}, items={len(self)})"
