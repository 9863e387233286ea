"""The item-item (EASE) term of the online ranking, over the online model's item rows.

The fitted matrix changes rarely (refit every ``refit_every`` events from what the model has
learned, or loaded from the nightly champion); its input — the user's rated movies, newest
weighted most — changes on every event, so a rating counts in the user's next list at once.
Movies newer than the last fit have no weights: they are ranked by the other terms (trending,
transitions, MF) until the next fit.

Scoring one user reads the rows of their last ``max_history`` movies (``neighbours`` weights
each) and divides by the spread of the result, so ``weight`` means the same for every user.

A worker fits in the background (:meth:`ItemItemTerm.fit_in_background`): the input is taken
on the event path, the fit runs in a throttled, low-priority process of its own and its
result is adopted by a later event, so no rating waits for it and the fit never holds the
worker's GIL (:mod:`~reelstream.models.refit_process`); refits also take at most a set share
of the time (under a backlog ``refit_every`` events come quickly).
Evaluations keep the synchronous, deterministic fit every ``refit_every`` events.

>>> from reelstream.models.rated import RatedItems
>>> rated = RatedItems()
>>> for user, rows in {1: [0, 1, 2], 2: [0, 1], 3: [1, 2]}.items():
...     for row in rows:
...         _ = rated.add(user, row)
>>> term = ItemItemTerm(weight=1.0, lam=1.0)
>>> term.refit(rated, n_rows=3)
>>> out = np.zeros(3, dtype=np.float32)
>>> term.add_into(np.array([0]), out)
>>> int(np.argmax(out)), term.fitted_rows
(1, 3)
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from .ease import fit_ease
from .rated import RatedItems
from .refit_process import RefitProcess

__all__ = ["ItemItemTerm"]

log = logging.getLogger(__name__)


def _fit_timed(
    binary: sp.csr_matrix, lam: float, neighbours: int, max_items: int
) -> tuple[sp.csr_matrix, float]:
    """A fit and the CPU seconds it took (the refit process does nothing else)."""
    started = time.process_time()
    return fit_ease(binary, lam, neighbours, max_items), time.process_time() - started


class ItemItemTerm:
    """EASE weights between item rows, refit in batches, scored on every call."""

    #: Where refits run; ``None``: on the caller's thread (set per process, never pickled).
    #: It is given :func:`_fit_timed` and the fit's arguments.
    refit_executor: ClassVar[Executor | None] = None
    #: In the background, the next refit waits until the last one is this share of the time.
    refit_max_share: ClassVar[float] = 0.05

    @classmethod
    def fit_in_background(cls) -> None:
        """From now on, in this process, refits run in one low-priority, throttled child
        process (:class:`~reelstream.models.refit_process.RefitProcess`) and use at most
        ``refit_max_share`` of the CPU time (a refit that comes sooner is skipped)."""
        if cls.refit_executor is None:
            cls.refit_executor = RefitProcess()

    def __init__(
        self,
        weight: float,
        lam: float = 200.0,
        history_halflife: float = 5.0,
        neighbours: int = 100,
        max_items: int = 3000,
        max_history: int = 50,
    ) -> None:
        self.weight = weight
        self.lam = lam
        self.history_halflife = history_halflife
        self.neighbours = neighbours
        self.max_items = max_items
        self.max_history = max_history
        self.matrix: sp.csr_matrix | None = None
        self.source = ""  # "stream" or the champion's label
        self._pending: Future | None = None  # a background refit not yet adopted
        self._next_refit_at = 0.0  # monotonic time before which a background refit is skipped
        self._table_cache: tuple | None = None  # (matrix, *the neighbour table of _table)
        self._last_gather: tuple | None = None  # (matrix, history, gathered)

    @property
    def fitted_rows(self) -> int:
        return 0 if self.matrix is None else int(self.matrix.shape[0])

    def refit(self, rated: RatedItems, n_rows: int) -> None:
        """Fit on every (user, movie) the online model has learned so far: at once, or in
        the background (adopted by :meth:`adopt_refit`; skipped while one is running)."""
        executor = self.refit_executor
        if executor is not None and (
            self._pending is not None or time.monotonic() < self._next_refit_at
        ):
            return
        users = list(rated.users())
        if not users or n_rows == 0:
            return
        rows = [rated.rows(u) for u in users]
        lengths = np.array([len(r) for r in rows])
        binary = sp.csr_matrix(
            (np.ones(int(lengths.sum()), np.float32),
             (np.repeat(np.arange(len(users)), lengths), np.concatenate(rows))),
            shape=(len(users), n_rows),
        )
        if executor is None:
            self.matrix, self.source = self._fit(binary), "stream"
            return
        try:
            self._pending = executor.submit(
                _fit_timed, binary, self.lam, self.neighbours, self.max_items
            )
        except BrokenProcessPool:  # the refit process died (killed, out of memory)
            log.warning("the item-item refit process died; the next refit starts a new one")
            self._replace(executor)
        except Exception:  # noqa: BLE001 - a refit never fails the event that was due to start it
            log.exception("starting an item-item refit failed; keeping the weights of the last fit")

    @classmethod
    def _replace(cls, broken: Executor) -> None:
        broken.shutdown(wait=False, cancel_futures=True)
        if cls.refit_executor is broken:
            cls.refit_executor = None
            cls.fit_in_background()

    def adopt_refit(self) -> None:
        """Use the background refit's matrix once it is done (cheap when there is none)."""
        pending = self._pending
        if pending is None or not pending.done():
            return
        self._pending = None
        try:
            matrix, cpu_s = pending.result()
        except Exception:  # noqa: BLE001 - the weights of the last fit stay; events go on
            log.exception("the item-item refit failed; keeping the weights of the last fit")
            return
        self.matrix, self.source = matrix, "stream"
        self._next_refit_at = time.monotonic() + cpu_s / self.refit_max_share

    def _fit(self, binary: sp.csr_matrix) -> sp.csr_matrix:
        return fit_ease(binary, self.lam, self.neighbours, self.max_items)

    def load(self, matrix: sp.csr_matrix, rows_of_columns: np.ndarray, n_rows: int,
             source: str) -> None:
        """Adopt a fitted matrix whose columns map to online rows by ``rows_of_columns``."""
        coo = matrix.tocoo()
        rows = rows_of_columns[coo.row]
        cols = rows_of_columns[coo.col]
        self.matrix = sp.csr_matrix((coo.data.astype(np.float32), (rows, cols)),
                                    shape=(n_rows, n_rows))
        self.source = source
        self._pending = None  # a stream refit begun before must not replace these weights

    def _table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """:attr:`matrix` as a padded neighbour table: ``(columns, slot, cols, vals)`` where
        ``columns`` are the rows that receive weights (a fit covers ``max_items`` of the
        catalogue), ``slot[row]`` is ``row``'s line in ``cols``/``vals`` (its weights in CSR
        order, as positions in ``columns``; padding points past them with weight 0); a row
        without weights has the empty last line. A user's term is then two
        lookups and one ``bincount``, whatever their history. Kept until the matrix changes."""
        cached = self._table_cache
        if cached is None or cached[0] is not self.matrix:
            matrix = self.matrix
            columns, compact = np.unique(matrix.indices, return_inverse=True)
            lengths = np.diff(matrix.indptr)
            with_weights = np.flatnonzero(lengths)
            width = int(lengths.max(initial=0))
            slot = np.full(matrix.shape[0], with_weights.size, dtype=np.int64)
            slot[with_weights] = np.arange(with_weights.size)
            cols = np.full((with_weights.size + 1, width), columns.size, dtype=np.int64)
            vals = np.zeros((with_weights.size + 1, width), dtype=matrix.data.dtype)
            line = np.repeat(slot[with_weights], lengths[with_weights])
            place = np.arange(matrix.nnz) - np.repeat(matrix.indptr[with_weights],
                                                      lengths[with_weights])
            cols[line, place] = compact.ravel()
            vals[line, place] = matrix.data
            cached = self._table_cache = (matrix, columns.astype(np.int64), slot, cols, vals)
        return cached[1:]

    def _gather(self, history: np.ndarray) -> tuple:
        """The weights the user's last movies give: ``(positions in history, column
        positions, weighted values)`` (one line per position), their sum per column and the
        scale of the term. The last user's is kept: their list is explained right after it
        is ranked."""
        matrix = self.matrix
        tail = np.asarray(history, dtype=np.int64)[-self.max_history:]
        empty = np.zeros(0, dtype=np.int64)
        if matrix is None or tail.size == 0:
            return empty, np.zeros((0, 0), np.int64), np.zeros((0, 0)), np.zeros(0), 0.0
        key = tail.tobytes()
        last = self._last_gather
        if last is not None and last[0] is matrix and last[1] == key:
            return last[2]
        columns, slot, table_cols, table_vals = self._table()
        keep = tail < self.fitted_rows
        position = np.flatnonzero(keep)
        age = (tail.size - 1 - position).astype(np.float64)
        w = 0.5 ** (age / self.history_halflife) if self.history_halflife > 0 else age * 0 + 1
        lines = slot[tail[keep]]
        cols = table_cols[lines]
        values = table_vals[lines] * w[:, None]
        # in the matrix's order (history, then CSR): the sums round as one pass over it would
        total = np.bincount(cols.ravel(), weights=values.ravel(),
                            minlength=columns.size + 1)[: columns.size]
        if not total.any():
            gathered = (position, cols, values, total, 0.0)
        else:
            # the spread over every fitted row; the columns without weights add zeros
            mean = float(total.sum()) / self.fitted_rows
            std = float(np.sqrt(max(float(total @ total) / self.fitted_rows - mean * mean, 0.0)))
            gathered = (position, cols, values, total, self.weight / std if std > 0 else 0.0)
        self._last_gather = (matrix, key, gathered)
        return gathered

    def contributions(
        self, history: np.ndarray, rows: np.ndarray
    ) -> tuple[np.ndarray, float]:
        """``parts[h, j]``: what the ``h``-th of the user's last ``max_history`` movies adds
        to row ``rows[j]`` before scaling, and the scale of the term."""
        tail = np.asarray(history, dtype=np.int64)[-self.max_history:]
        position, cols, values, _, scale = self._gather(tail)
        rows = np.asarray(rows, dtype=np.int64)
        parts = np.zeros((tail.size, rows.size))
        if cols.size == 0 or rows.size == 0:
            return parts, scale
        columns = self._table()[0]
        at = np.minimum(np.searchsorted(columns, rows), columns.size - 1)
        weighted = columns[at] == rows
        slot = np.full(columns.size + 1, -1, dtype=np.int64)  # column -> index in rows
        slot[at[weighted]] = np.flatnonzero(weighted)
        where = slot[cols]
        line, place = np.nonzero(where >= 0)
        # a user rated a movie once and a row lists a column once: no pair repeats
        parts[position[line], where[line, place]] = values[line, place]
        return parts, scale

    def add_into(self, history: np.ndarray, out: np.ndarray) -> None:
        """``out[:fitted_rows] += weight * (history-weighted rows) / their spread``."""
        if not self.weight or self.matrix is None:
            return
        _, _, _, total, scale = self._gather(history)
        if scale == 0.0:
            return
        out[self._table()[0]] += (scale * total).astype(out.dtype)

    _TRANSIENT: ClassVar[dict] = {"_pending": None, "_next_refit_at": 0.0,
                                  "_table_cache": None, "_last_gather": None}

    def __getstate__(self) -> dict:
        return {**self.__dict__, **self._TRANSIENT}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update({**self._TRANSIENT, **state})
