"""Which movie people rate next: a batch item-to-item transition matrix over rating order.

``T[i, j]`` sums ``decay ** (d - 1)`` over every user who rated ``j`` ``d ≤ window`` ratings
after ``i``; each row is then divided by ``sqrt(1 + row sum)`` so a blockbuster's many links
do not drown a niche movie's few. A user's sequence score is ``l_u T`` with ``l_u`` weighting
their last ratings by recency: users rate in sessions (a series, a director, what the site
showed that week), and the next ratings continue them, which a bag-of-items model such as
EASE cannot see.

>>> T = fit_transitions([np.array([0, 1, 2]), np.array([0, 1])], n_items=3, window=1)
>>> T.toarray().astype(float).round(3).tolist()
[[0.0, 1.155, 0.0], [0.0, 0.0, 0.707], [0.0, 0.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

__all__ = ["fit_transitions"]


def fit_transitions(
    orders: Sequence[np.ndarray],
    n_items: int,
    window: int = 5,
    decay: float = 0.8,
    neighbours: int = 0,
) -> sp.csr_matrix:
    """Transition weights from each user's movies in rating order (oldest first).

    ``neighbours`` > 0 keeps each movie's strongest ``k`` links (0 = all).
    """
    lengths = np.array([len(o) for o in orders], dtype=np.int64)
    flat = np.concatenate(orders).astype(np.int64) if len(orders) else np.zeros(0, np.int64)
    user = np.repeat(np.arange(len(orders)), lengths)
    rows, cols, vals = [], [], []
    for d in range(1, window + 1):
        same = user[d:] == user[:-d]
        rows.append(flat[:-d][same])
        cols.append(flat[d:][same])
        vals.append(np.full(int(same.sum()), decay ** (d - 1), dtype=np.float32))
    matrix = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_items, n_items), dtype=np.float32,
    )
    matrix.sum_duplicates()
    degree = np.asarray(matrix.sum(axis=1)).ravel() + 1.0
    matrix = sp.diags((1.0 / np.sqrt(degree)).astype(np.float32)) @ matrix
    matrix = matrix.tocsr()
    if neighbours:
        matrix = _top_per_row(matrix, neighbours)
    return matrix.astype(np.float32)


def _top_per_row(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    indptr, indices, data = [0], [], []
    for row in range(matrix.shape[0]):
        lo, hi = matrix.indptr[row], matrix.indptr[row + 1]
        vals = matrix.data[lo:hi]
        keep = np.argsort(-vals, kind="stable")[:k] if hi - lo > k else np.arange(hi - lo)
        keep.sort()
        indices.append(matrix.indices[lo:hi][keep])
        data.append(vals[keep])
        indptr.append(indptr[-1] + keep.size)
    return sp.csr_matrix(
        (np.concatenate(data) if data else [], np.concatenate(indices) if indices else [],
         np.array(indptr)), shape=matrix.shape,
    )
