"""EASE (Steck 2019): a closed-form item-item model, kept as each movie's strongest neighbours.

``B = I - P / diag(P)`` with ``P = (X'X + λI)^-1`` and a zero diagonal; a user's scores are
``x_u B``. The solve is dense in the number of fitted movies (``items²`` floats: 270 MB in
float32 at 8.2k movies, ~7 GB at 43k), so two limits keep it to a fixed budget whatever the
catalogue:

* ``max_items`` fits only the most-rated movies (the rest get no neighbours and are reached
  through popularity and transitions): memory ``4 · max_items²`` bytes at fit time;
* ``neighbours`` keeps each movie's ``k`` largest-magnitude weights (sparse rows), so the
  stored/served matrix is ``n_items · k`` entries (≈ 12 bytes each) and scoring a user costs
  ``|history| · k``.

>>> x = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1]], dtype=np.float32))
>>> b = fit_ease(x, lam=1.0)
>>> b.shape, float(b.diagonal().sum())
((3, 3), 0.0)
>>> fit_ease(x, lam=1.0, neighbours=1).getnnz(axis=1).tolist()
[1, 1, 1]
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sl
import scipy.sparse as sp

__all__ = ["fit_ease", "prune_rows"]


def fit_ease(
    binary: sp.csr_matrix,
    lam: float,
    neighbours: int = 0,
    max_items: int = 0,
    weights: sp.csr_matrix | None = None,
) -> sp.csr_matrix:
    """Item-item weights (``n_items × n_items`` CSR, rows = the movie a user rated).

    ``binary`` is users × movies (nonzero = rated); ``weights`` (same pattern) replaces the ones
    of the Gram matrix when given. ``neighbours`` 0 keeps every weight, ``max_items`` 0 fits
    every movie.
    """
    x = (binary if weights is None else weights).astype(np.float32).tocsc()
    n_items = x.shape[1]
    fitted = np.arange(n_items)
    if max_items and n_items > max_items:
        counts = np.diff(x.indptr)
        fitted = np.sort(np.argsort(-counts, kind="stable")[:max_items])
        x = x[:, fitted]
    gram = (x.T @ x).toarray()
    gram[np.diag_indices_from(gram)] += np.float32(lam)
    inverse = _spd_inverse(gram)
    del gram
    diag = np.diag(inverse).copy()
    inverse /= -diag[None, :]
    np.fill_diagonal(inverse, 0.0)
    weights_dense = inverse
    if neighbours:
        block = prune_rows(weights_dense, neighbours)
    else:
        block = sp.csr_matrix(weights_dense)
    if len(fitted) == n_items:
        return block.astype(np.float32)
    block = block.tocoo()
    return sp.csr_matrix(
        (block.data.astype(np.float32), (fitted[block.row], fitted[block.col])),
        shape=(n_items, n_items),
    )


def _spd_inverse(gram: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix by LAPACK ``potrf`` + ``potri``
    (Cholesky, then the inverse's upper triangle): 2.5x faster than a Cholesky solve against
    the identity and 7x faster than ``np.linalg.inv`` at 8.2k movies."""
    potrf, potri = sl.get_lapack_funcs(("potrf", "potri"), (gram,))
    factor, info = potrf(gram, lower=False, overwrite_a=True, clean=False)
    if info:
        raise np.linalg.LinAlgError(f"Gram matrix not positive definite (potrf info {info})")
    upper, info = potri(factor, lower=False, overwrite_c=True)
    if info:
        raise np.linalg.LinAlgError(f"potri failed (info {info})")
    inverse = np.triu(upper)
    inverse += np.triu(upper, 1).T
    return inverse


def prune_rows(dense: np.ndarray, k: int) -> sp.csr_matrix:
    """Keep the ``k`` largest-magnitude entries of each row (ties: the lower column)."""
    n_rows, n_cols = dense.shape
    k = min(k, n_cols)
    keep = np.argpartition(-np.abs(dense), k - 1, axis=1)[:, :k]
    keep.sort(axis=1)
    values = np.take_along_axis(dense, keep, axis=1)
    indptr = np.arange(0, n_rows * k + 1, k)
    out = sp.csr_matrix((values.ravel(), keep.ravel(), indptr), shape=(n_rows, n_cols))
    out.eliminate_zeros()
    return out
