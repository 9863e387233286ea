"""Which movies each user has already rated (excluded from their recommendations)."""

from __future__ import annotations

from array import array

import numpy as np

__all__ = ["RatedItems"]


class RatedItems:
    """Per-user growable arrays of item rows (``array('q')``: an add is a Python append,
    no numpy call), plus sets for membership tests.

    Examples
    --------

    >>> rated = RatedItems()
    >>> rated.add(1, 5), rated.add(1, 2), rated.add(1, 5)
    (True, True, False)
    >>> rated.rows(1).tolist(), rated.rows(2).tolist(), (1, 2) in rated
    ([5, 2], [], True)

    """

    def __init__(self) -> None:
        self._rows: dict[int, array] = {}
        self._sets: dict[int, set[int]] = {}

    def __len__(self) -> int:
        """Number of users with at least one rating."""
        return len(self._sets)

    def __contains__(self, pair: tuple[int, int]) -> bool:
        user, row = pair
        return row in self._sets.get(user, ())

    def users(self):
        return self._sets.keys()

    def add(self, user: int, row: int) -> bool:
        """Record that ``user`` rated the item at ``row``; False when already recorded."""
        seen = self._sets.get(user)
        if seen is None:
            seen = self._sets[user] = set()
            self._rows[user] = array("q")
        elif row in seen:
            return False
        self._rows[user].append(row)
        seen.add(row)
        return True

    def rows(self, user: int) -> np.ndarray:
        """Rows rated by ``user``, in order of first rating (a new int64 array)."""
        rows = self._rows.get(user)
        if not rows:
            return np.zeros(0, dtype=np.int64)
        return np.array(rows, dtype=np.int64)

    def forget(self, user: int) -> int:
        """Drop what ``user`` rated; returns how many movies that was."""
        self._rows.pop(user, None)
        return len(self._sets.pop(user, ()))

    def count(self, user: int) -> int:
        return len(self._sets.get(user, ()))

    # Compact state: one CSR-like pair of arrays instead of thousands of small objects.
    def __getstate__(self) -> dict:
        users = np.fromiter(self._sets.keys(), dtype=np.int64, count=len(self._sets))
        lengths = np.fromiter((len(s) for s in self._sets.values()), dtype=np.int64)
        flat = (
            np.concatenate([self.rows(int(u)) for u in users])
            if len(users)
            else np.zeros(0, dtype=np.int64)
        )
        return {"users": users, "lengths": lengths, "rows": flat.astype(np.int32)}

    def __setstate__(self, state: dict) -> None:
        self._rows, self._sets = {}, {}
        offsets = np.concatenate([[0], np.cumsum(state["lengths"])])
        for k, user in enumerate(state["users"].tolist()):
            rows = array("q", state["rows"][offsets[k] : offsets[k + 1]].astype(np.int64).tobytes())
            self._rows[user] = rows
            self._sets[user] = set(rows)
