"""Movie id ↔ row mapping shared by the vectorised scorers."""

from __future__ import annotations

import numpy as np

__all__ = ["ItemIndex"]


class ItemIndex:
    """Assigns each movie id a dense row, in order of first appearance.

    Rows never move, so every per-item numpy array of a model can be indexed by them.

    Examples
    --------

    >>> index = ItemIndex()
    >>> index.add(31), index.add(7), index.add(31)
    (0, 1, 0)
    >>> len(index), index.ids.tolist(), index.get(99)
    (2, [31, 7], None)

    """

    def __init__(self) -> None:
        self._rows: dict[int, int] = {}
        self._ids = np.zeros(64, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, item: object) -> bool:
        return item in self._rows

    @property
    def capacity(self) -> int:
        """Number of rows allocated; per-item arrays of the owner keep at least this size."""
        return len(self._ids)

    @property
    def ids(self) -> np.ndarray:
        """Movie ids by row (a view, do not modify)."""
        return self._ids[: len(self._rows)]

    def get(self, item: int) -> int | None:
        """Row of ``item``, or ``None`` when it was never seen."""
        return self._rows.get(item)

    def add(self, item: int) -> int:
        """Row of ``item``, creating it when new."""
        row = self._rows.get(item)
        if row is None:
            row = len(self._rows)
            if row == len(self._ids):
                self._ids = grow(self._ids, 2 * row)
            self._ids[row] = item
            self._rows[item] = row
        return row

    def rows_of(self, items) -> np.ndarray:
        """Rows of known ``items`` (unknown ones are skipped)."""
        rows = self._rows
        return np.fromiter((rows[i] for i in items if i in rows), dtype=np.int64)


def grow(array: np.ndarray, size: int) -> np.ndarray:
    """Copy of ``array`` enlarged to ``size`` rows, padded with zeros."""
    out = np.zeros((size, *array.shape[1:]), dtype=array.dtype)
    out[: len(array)] = array
    return out
