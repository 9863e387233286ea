"""Train the batch model: biased matrix factorisation by alternating least squares.

Why this design:

* **Biased MF by ALS, in numpy/scipy** gives the explicit-rating predictor (RMSE) *and* the
  per-item factors + biases the streaming worker warm-starts River's ``BiasedMF`` from — the
  same parametrisation, so the online model continues where the batch one stopped. ALS (each
  half-step is a set of exact ridge solves) converges in ~10 sweeps with no learning rate to
  tune, is deterministic for a seed, and each sweep is a loop of small ``(k+1)x(k+1)`` solves
  that scales linearly in the number of ratings.
* **Ranking** is scored separately (see :class:`~reelstream.models.batch.BatchModel`): an
  explicit-rating model alone ranks obscure movies with a few 5-star ratings first, so the
  ranker blends the standardised MF score with log-popularity (``popularity_weight``), or —
  configurable — uses ``implicit`` ALS factors trained on "who rated what", or (``ease_seq``,
  the default) the item-item ranker of :mod:`reelstream.models.item_ranker`: EASE over a
  recency-weighted history plus a rating-order transition term, which ranks best under the
  protocol of docs/evaluation.md and explains every score by the user's own rated movies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from reelstream.models.batch import BatchModel

__all__ = ["BatchParams", "train_batch_model"]


@dataclass(frozen=True)
class BatchParams:
    """Hyper-parameters (the ``batch:`` section of ``params.yaml``)."""

    factors: int = 32
    iterations: int = 12
    reg: float = 0.08  # ALS-WR: the ridge penalty is reg * (number of ratings of the row)
    reg_bias: float = 5.0  # absolute: shrinks biases of rarely-rated rows/movies
    reg_abs: float = 0.0  # fixed extra penalty on factors
    recency_halflife: float = 0.0  # user side: a rating n ratings old weighs 0.5**(n/h); 0=off
    recency_floor: float = 0.1
    cg_steps: int = 4  # 0 = exact solves every sweep
    seed: int = 42
    ranker: Literal["mf", "implicit_als", "ease_seq"] = "mf"
    popularity_weight: float = 1.0
    implicit_factors: int = 64
    implicit_reg: float = 0.05
    implicit_alpha: float = 2.0
    implicit_iterations: int = 15
    implicit_recency_halflife: float = 15.0  # confidence of the ranker's entries; 0 = off
    ease_lambda: float = 600.0  # ease_seq: ridge penalty of EASE
    ease_neighbours: int = 100  # strongest weights kept per movie (0 = dense)
    ease_max_items: int = 2500  # most-rated movies fitted (memory 4 * n² bytes; 0 = all)
    history_halflife: float = 5.0  # ratings; age weight of the history EASE scores
    transition_weight: float = 0.25
    transition_halflife: float = 1.0
    transition_window: int = 5
    transition_decay: float = 0.8
    transition_neighbours: int = 200
    test_fraction: float = 0.2
    k: int = 10
    relevance_threshold: float = 4.0

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> BatchParams:
        """Build from a params.yaml section, refusing unknown keys (typos)."""
        raw = dict(raw or {})
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown batch params: {sorted(unknown)}")
        return cls(**raw)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _batched_cg(
    gram: np.ndarray, rhs: np.ndarray, x0: np.ndarray, steps: int
) -> np.ndarray:
    """A few conjugate-gradient steps on every system ``gram[b] x = rhs[b]`` at once.

    Warm-started from the previous sweep's solution, 3-4 steps per sweep match exact solves
    (the trick ``implicit`` uses) at a fraction of LAPACK's per-matrix overhead.
    """
    x = x0.copy()
    r = rhs - np.einsum("bij,bj->bi", gram, x)
    p = r.copy()
    rs = np.einsum("bi,bi->b", r, r)
    for _ in range(steps):
        ap = np.einsum("bij,bj->bi", gram, p)
        denom = np.einsum("bi,bi->b", p, ap)
        alpha = np.divide(rs, denom, out=np.zeros_like(rs), where=denom > 1e-20)
        x += alpha[:, None] * p
        r -= alpha[:, None] * ap
        rs_new = np.einsum("bi,bi->b", r, r)
        beta = np.divide(rs_new, rs, out=np.zeros_like(rs), where=rs > 1e-20)
        p = r + beta[:, None] * p
        rs = rs_new
    return x


def _als_half_step(
    matrix: sp.csr_matrix,
    residual_base: np.ndarray,
    other: np.ndarray,
    other_bias: np.ndarray,
    previous: np.ndarray,
    reg: float,
    reg_bias: float,
    reg_abs: float,
    cg_steps: int,
    weights: np.ndarray | None = None,
    chunk_rows: int = 4096,
) -> np.ndarray:
    """Solve every row's ``[factors, bias]`` given the other side fixed.

    For row ``u`` with columns ``I`` the target is ``r_ui - mu - b_i`` and the design is
    ``[q_i, 1]``; the penalty is scaled by ``|I|`` (ALS-WR) so heavy and light rows are
    regularised alike (``weights`` down-weight entries, e.g. a user's old ratings); the bias gets a fixed penalty ``reg_bias``. The Gram matrices of all rows are one sparse-times-dense product with
    the other side's precomputed outer products, so there is no Python loop per row.
    """
    n_rows = matrix.shape[0]
    k1 = other.shape[1] + 1
    design = np.hstack([other, np.ones((other.shape[0], 1))])
    outer = (design[:, :, None] * design[:, None, :]).reshape(design.shape[0], k1 * k1)
    w = np.ones(matrix.nnz) if weights is None else weights
    pattern = sp.csr_matrix((w, matrix.indices, matrix.indptr), shape=matrix.shape)
    targets = sp.csr_matrix(
        (w * (residual_base - other_bias[matrix.indices]), matrix.indices, matrix.indptr),
        shape=matrix.shape,
    )
    counts = np.add.reduceat(w, matrix.indptr[:-1]) if matrix.nnz else np.zeros(n_rows)
    counts[np.diff(matrix.indptr) == 0] = 0.0
    # Factors: ALS-WR, penalty grows with the row's count. Bias: a fixed penalty, i.e. a
    # damped mean — a movie with 2 ratings keeps a bias near 0, one with 300 gets its own.
    penalty_scaled = np.full(k1, reg)
    penalty_scaled[-1] = 0.0
    penalty_abs = np.zeros(k1)
    penalty_abs[-1] = reg_bias
    penalty_abs[:-1] = max(reg_abs, 1e-6)
    diag = np.arange(k1)
    solution = previous.copy()
    for start in range(0, n_rows, chunk_rows):
        stop = min(start + chunk_rows, n_rows)
        gram = np.asarray(pattern[start:stop] @ outer).reshape(-1, k1, k1)
        gram[:, diag, diag] += penalty_scaled[None, :] * counts[start:stop, None] + penalty_abs
        rhs = np.asarray(targets[start:stop] @ design)
        if cg_steps > 0:
            solution[start:stop] = _batched_cg(gram, rhs, previous[start:stop], cg_steps)
        else:
            solution[start:stop] = np.linalg.solve(gram, rhs[:, :, None])[:, :, 0]
    return solution


def _implicit_factors(
    user_items: sp.csr_matrix, params: BatchParams, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Implicit-feedback ALS (``implicit`` library) on the who-rated-what matrix.

    The confidence of each (user, movie) is its recency weight (1 for all when off): what a
    user rated lately says more about what they rate next.
    """
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    # implicit parallelises itself; nested BLAS threads thrash (and it warns).
    limits = threadpool_limits(1, "blas")
    model = AlternatingLeastSquares(
        factors=params.implicit_factors,
        regularization=params.implicit_reg,
        alpha=params.implicit_alpha,
        iterations=params.implicit_iterations,
        random_state=params.seed,
        num_threads=0,
    )
    binary = user_items.copy()
    binary.data = (np.ones(binary.nnz) if weights is None else weights).astype(np.float32)
    try:
        model.fit(binary.astype(np.float32), show_progress=False)
    finally:
        limits.restore_original_limits()
    return np.asarray(model.user_factors), np.asarray(model.item_factors)


def _recency_weights(
    train: pd.DataFrame,
    by_user: sp.csr_matrix,
    users: np.ndarray,
    items: np.ndarray,
    halflife: float,
    floor: float,
) -> np.ndarray | None:
    """Per-entry weights aligned with ``by_user.data``: a user's recent ratings count more.

    Tastes (and rating scales) drift; the held-out ratings are each user's latest, so the
    user's factors and bias should describe the recent user. Age is counted in ratings, not
    seconds, so binge-raters and occasional raters are treated alike.
    """
    if halflife <= 0 or "rated_at" not in train.columns:
        return None
    ordered = train.sort_values(["user_id", "rated_at", "movie_id"], kind="mergesort")
    age = ordered.groupby("user_id", sort=False).cumcount(ascending=False).to_numpy()
    weight = np.maximum(0.5 ** (age / halflife), floor)
    rows = np.searchsorted(users, ordered["user_id"].to_numpy(np.int64))
    cols = np.searchsorted(items, ordered["movie_id"].to_numpy(np.int64))
    aligned = sp.csr_matrix((weight, (rows, cols)), shape=by_user.shape)
    aligned.sum_duplicates()
    return aligned.data


def train_batch_model(train: pd.DataFrame, params: BatchParams | None = None) -> BatchModel:
    """Fit the batch model on a ratings frame (user_id, movie_id, rating[, rated_at])."""
    params = params or BatchParams()
    if train.empty:
        raise ValueError("cannot train on an empty snapshot")
    if "rated_at" in train.columns:  # a re-rating replaces the earlier rating
        train = train.sort_values("rated_at", kind="mergesort")
    train = train.drop_duplicates(["user_id", "movie_id"], keep="last")
    users, u_idx = np.unique(train["user_id"].to_numpy(np.int64), return_inverse=True)
    items, i_idx = np.unique(train["movie_id"].to_numpy(np.int64), return_inverse=True)
    ratings = train["rating"].to_numpy(np.float64)
    mu = float(ratings.mean())
    n_u, n_i = users.size, items.size

    by_user = sp.csr_matrix((ratings, (u_idx, i_idx)), shape=(n_u, n_i))
    by_user.sum_duplicates()
    by_item = by_user.T.tocsr()
    user_weights = _recency_weights(
        train, by_user, users, items, params.recency_halflife, params.recency_floor
    )

    rng = np.random.default_rng(params.seed)
    k = params.factors
    item_x = np.hstack([rng.normal(0.0, 0.1, size=(n_i, k)), np.zeros((n_i, 1))])
    user_x = np.zeros((n_u, k + 1))
    for sweep in range(params.iterations):
        # Exact solves on the first sweep (no warm start yet), then warm-started CG.
        steps = 0 if sweep == 0 else params.cg_steps
        user_x = _als_half_step(by_user, by_user.data - mu, item_x[:, :k], item_x[:, k],
                                user_x, params.reg, params.reg_bias, params.reg_abs, steps,
                                user_weights)
        item_x = _als_half_step(by_item, by_item.data - mu, user_x[:, :k], user_x[:, k],
                                item_x, params.reg, params.reg_bias, params.reg_abs, steps)
    p, b_u, q, b_i = user_x[:, :k], user_x[:, k], item_x[:, :k], item_x[:, k]

    popularity = np.diff(by_item.indptr).astype(np.float32)

    def model_kwargs() -> dict[str, Any]:
        return dict(
            user_ids=users, movie_ids=items, user_factors=p.astype(np.float32),
            item_factors=q.astype(np.float32), user_bias=b_u.astype(np.float32),
            item_bias=b_i.astype(np.float32), global_mean=mu, item_popularity=popularity,
            popularity_weight=params.popularity_weight,
        )

    rank_u = rank_i = None
    if params.ranker == "implicit_als":
        rank_weights = _recency_weights(
            train, by_user, users, items, params.implicit_recency_halflife, params.recency_floor
        )
        rank_u, rank_i = _implicit_factors(by_user, params, rank_weights)
    elif params.ranker == "ease_seq":
        return _with_item_ranker(model_kwargs(), train, users, items, popularity, params)
    elif params.ranker != "mf":
        raise ValueError(f"unknown ranker {params.ranker!r}")
    return BatchModel(**model_kwargs(), rank_user_factors=rank_u, rank_item_factors=rank_i)


def _with_item_ranker(
    kwargs: dict[str, Any],
    train: pd.DataFrame,
    users: np.ndarray,
    items: np.ndarray,
    popularity: np.ndarray,
    params: BatchParams,
) -> BatchModel:
    """The batch model plus the item-item ranker and each user's history (oldest first)."""
    from reelstream.models.ease import fit_ease
    from reelstream.models.item_ranker import ItemRanker, RankerWeights
    from reelstream.models.sequence import fit_transitions

    keys = ["user_id", "rated_at", "movie_id"] if "rated_at" in train.columns else ["user_id"]
    ordered = train.sort_values(keys, kind="mergesort")
    rows = np.searchsorted(users, ordered["user_id"].to_numpy(np.int64))
    cols = np.searchsorted(items, ordered["movie_id"].to_numpy(np.int64)).astype(np.int32)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=users.size))])
    orders = np.split(cols, indptr[1:-1])
    binary = sp.csr_matrix((np.ones(cols.size, np.float32), (rows, cols)),
                           shape=(users.size, items.size))
    ranker = ItemRanker(
        ease=fit_ease(binary, params.ease_lambda, params.ease_neighbours, params.ease_max_items),
        transitions=fit_transitions(orders, items.size, params.transition_window,
                                    params.transition_decay, params.transition_neighbours),
        popularity=popularity,
        weights=RankerWeights(params.history_halflife, params.transition_weight,
                              params.transition_halflife, params.popularity_weight),
    )
    return BatchModel(**kwargs, history_indptr=indptr.astype(np.int64),
                      history_items=cols, item_ranker=ranker)
