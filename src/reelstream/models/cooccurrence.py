"""Item-to-item transitions learned online: "users who rated X then rated Y"."""

from __future__ import annotations

from array import array

import numpy as np

__all__ = ["Transitions"]

#: With ``top_k``, a row keeps its ``_KEEP_FACTOR * top_k`` strongest links each time it
#: reaches twice that many: a link is forgotten only after it stayed out of the top.
_KEEP_FACTOR = 1


class Transitions:
    """Sparse decayed counts of ``j → i``: ``i`` rated by a user within ``window`` ratings
    after ``j``, scored for a user from their last ``window`` movies, vectorised.

    When a user rates the item at row ``i``, every item ``j`` among their last ``window``
    movies gets ``C[j, i] += position_decay ** (d - 1)`` (``d = 1`` for the previous movie),
    and ``C[i, j]`` gets ``reverse_weight`` times that. The score of a user for every item is
    then ``sum_j position_decay ** (d_j - 1) * C[j, :] / n_j ** norm_power``, where ``n_j`` is
    the total weight leaving ``j``: ``norm_power = 1`` makes each recent movie contribute a
    probability distribution over what comes next.

    Each row of ``C`` is a pair of growable typed arrays (``array('q')`` columns,
    ``array('d')`` weights, in order of first link) with a ``{column: position}`` dict: a
    link is a dict lookup and an in-place float add (no numpy call per event), and scoring
    joins the user's recent rows' buffers into one index array and adds them at once.

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
    top_k
        When set, a row with more than ``top_k`` links is scored from its ``top_k``
        strongest ones only, normalised by its total weight at the time they were chosen;
        they are chosen again once that total has grown by ``refresh`` (a fraction).
        A row that reaches ``2 * top_k`` links forgets all but its ``top_k`` strongest
        (bounded memory; the total still counts them). ``None`` keeps and scores every
        link, exactly.
    refresh
        Growth of a row's total weight after which its strongest links are chosen again.

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

    def __init__(
        self,
        window: int = 5,
        position_decay: float = 0.8,
        reverse_weight: float = 0.0,
        norm_power: float = 1.0,
        top_k: int | None = None,
        refresh: float = 0.05,
    ) -> None:
        self.window = window
        self.position_decay = position_decay
        self.reverse_weight = reverse_weight
        self.norm_power = norm_power
        self.top_k = top_k
        self.refresh = refresh
        self._weights = [position_decay**d for d in range(window)]
        self.history: dict[int, list[int]] = {}
        self._cols: list[array] = []  # row j -> columns it links to (int64: index without a cast)
        self._vals: list[array] = []  # row j -> their weights (float64), same order
        self._pos: list[dict[int, int]] = []  # row j -> {column: position in its arrays}
        self._totals: list[float] = []  # weight leaving each row
        # row j -> (columns, weights, total) of its top_k strongest links, for scoring
        self._strongest: dict[int, tuple[np.ndarray, np.ndarray, float]] = {}

    @property
    def _max_links(self) -> float:
        """Links a row holds before its weakest are forgotten (``inf``: never)."""
        return float("inf") if self.top_k is None else _KEEP_FACTOR * 2 * self.top_k

    def _forget_weakest(self, j: int) -> None:
        """Keep row ``j``'s ``_KEEP_FACTOR * top_k`` strongest links (in their order); its
        total, the normalisation, still counts the forgotten ones."""
        vals = np.frombuffer(self._vals[j], dtype=np.float64)
        cut = len(vals) - _KEEP_FACTOR * self.top_k
        keep = np.sort(np.argpartition(vals, cut)[cut:])
        cols = np.frombuffer(self._cols[j], dtype=np.int64)[keep]
        self._cols[j] = array("q", cols.tobytes())
        self._vals[j] = array("d", vals[keep].tobytes())
        self._pos[j] = {col: k for k, col in enumerate(cols.tolist())}
        self._strongest.pop(j, None)

    def __len__(self) -> int:
        return len(self._cols)

    def _ensure(self, row: int) -> None:
        while len(self._cols) <= row:
            self._cols.append(array("q"))
            self._vals.append(array("d"))
            self._pos.append({})
            self._totals.append(0.0)

    def _link(self, j: int, i: int, w: float) -> None:
        k = self._pos[j].get(i)
        if k is None:
            self._pos[j][i] = len(self._cols[j])
            self._cols[j].append(i)
            self._vals[j].append(w)
            if len(self._cols[j]) >= self._max_links:
                self._forget_weakest(j)
        else:
            self._vals[j][k] += w
        self._totals[j] += w

    def add(self, user: int, row: int) -> None:
        """Link ``row`` to ``user``'s recent movies, then push it onto their history."""
        if row >= len(self._cols):
            self._ensure(row)
        recent = self.history.get(user)
        if recent is None:
            self.history[user] = [row]
            return
        pos, cols, vals, totals = self._pos, self._cols, self._vals, self._totals
        back, cap = self.reverse_weight, self._max_links
        # most recent first: recent[-1] at distance 1
        for w, j in zip(self._weights, reversed(recent), strict=False):
            if j == row:
                continue
            k = pos[j].get(row)
            if k is None:
                pos[j][row] = len(cols[j])
                cols[j].append(row)
                vals[j].append(w)
                if len(cols[j]) >= cap:
                    self._forget_weakest(j)
            else:
                vals[j][k] += w
            totals[j] += w
            if back:
                self._link(row, j, back * w)
        recent.append(row)
        if len(recent) > self.window:
            del recent[0]

    def link_from(self, recent: list[int], row: int) -> None:
        """The links :meth:`add` makes when a user whose last movies are ``recent`` (oldest
        first) rates ``row``, without recording it in any history (another worker's
        event)."""
        if row >= len(self._cols):
            self._ensure(row)
        if recent and max(recent) >= len(self._cols):
            self._ensure(max(recent))
        back = self.reverse_weight
        for w, j in zip(self._weights, reversed(recent), strict=False):
            if j == row:
                continue
            self._link(j, row, w)
            if back:
                self._link(row, j, back * w)

    def row(self, j: int, n: int | None = None) -> np.ndarray:
        """Dense weights ``C[j, :n]`` (``n`` defaults to the number of rows)."""
        n = len(self) if n is None else n
        out = np.zeros(n)
        if j < len(self._cols):
            cols = np.array(self._cols[j], dtype=np.int64)
            keep = cols < n
            out[cols[keep]] = np.array(self._vals[j])[keep]
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
        reach only; returns those rows (maybe repeated, a new array), or None when none.

        The recent movies' rows are gathered into one index and one weight array and added
        with a single ``np.add.at``, which adds them in the same order (most recent movie
        first) and with the same rounding as one fancy-indexed add per row would."""
        weights, cols, vals = self._sources(user, scale)
        if not weights:
            return None
        if len(weights) == 1:
            touched = np.array(cols[0], dtype=np.intp)
            out[touched] += weights[0] * np.frombuffer(vals[0], dtype=np.float64)
            return touched
        # joined into new buffers: no view of a row's array outlives the call
        touched = np.frombuffer(b"".join(cols), dtype=np.intp)
        values = np.frombuffer(b"".join(vals), dtype=np.float64)
        np.add.at(out, touched, values * np.repeat(weights, [len(c) for c in cols]))
        return touched

    def _sources(self, user: int, scale: float) -> tuple[list[float], list[array], list[array]]:
        """The weights, columns and values of the rows ``user``'s score sums, most recent
        movie first."""
        weights: list[float] = []
        cols: list[array] = []
        vals: list[array] = []
        recent = self.history.get(user)
        if not recent:
            return weights, cols, vals
        power, totals, top_k = self.norm_power, self._totals, self.top_k
        for w, j in zip(self._weights, reversed(recent), strict=False):
            total = totals[j]
            if total <= 0:
                continue
            row_cols, row_vals = self._cols[j], self._vals[j]
            if top_k is not None and len(row_cols) > top_k:
                row_cols, row_vals, total = self._strongest_of(j, total)
            w *= scale
            if power:
                w = w / total**power
            weights.append(w)
            cols.append(row_cols)
            vals.append(row_vals)
        return weights, cols, vals

    def _strongest_of(self, j: int, total: float) -> tuple[np.ndarray, np.ndarray, float]:
        """Row ``j``'s ``top_k`` strongest links (in order of first link) and the total they
        are normalised by, chosen again when the row's total has grown by ``refresh``."""
        cached = self._strongest.get(j)
        if cached is not None and total <= cached[2] * (1.0 + self.refresh):
            return cached
        vals = np.frombuffer(self._vals[j], dtype=np.float64)
        cut = len(vals) - self.top_k
        keep = np.sort(np.argpartition(vals, cut)[cut:])
        cached = self._strongest[j] = (
            np.frombuffer(self._cols[j], dtype=np.intp)[keep],
            vals[keep],
            total,
        )
        return cached

    # Compact state: one CSR triple instead of thousands of small arrays and dicts.
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for name in ("_cols", "_vals", "_pos", "_strongest"):
            state.pop(name, None)
        lengths = np.fromiter(map(len, self._cols), dtype=np.int64, count=len(self._cols))
        state["_csr"] = (
            lengths,
            np.frombuffer(b"".join(c.tobytes() for c in self._cols), dtype=np.int64).astype(np.int32),
            np.frombuffer(b"".join(v.tobytes() for v in self._vals), dtype=np.float64),
        )
        return state

    def __setstate__(self, state: dict) -> None:
        lengths, cols, vals = state.pop("_csr")
        state.setdefault("top_k", None)
        state.setdefault("refresh", 0.05)
        self.__dict__.update(state)
        self._cols, self._vals, self._pos, self._strongest = [], [], [], {}
        start = 0
        for length in lengths.tolist():
            c = array("q", cols[start : start + length].astype(np.int64).tobytes())
            self._cols.append(c)
            self._vals.append(array("d", vals[start : start + length].tobytes()))
            self._pos.append({col: k for k, col in enumerate(c)})
            start += length

    def __repr__(self) -> str:
        return f"Transitions(window={self.window}, items={len(self)})"
