"""The ranking protocol every list model is compared under (written down in docs/evaluation.md).

* **Split**: per user, ratings in time order (ties by ``movie_id``); the first ``int(0.8 n)`` of
  a user's ``n`` ratings train, the last ``n - int(0.8 n)`` are held out.
* **Held-out part** is limited to users and movies seen in training (no model can rank a movie
  it never saw; counting those would only shrink every recall alike).
* **Relevant** = held-out rating ≥ 4; users with no relevant held-out rating are not scored.
* **Candidates**: every training movie the user has not rated in training.
* **Ties**: a score tie goes to the lower column (movie index), i.e. deterministically.
* **Validation**: the training part split again the same way; parameters are chosen there,
  and the chosen setting is refit on the whole training part before the test is scored.

A model is any callable ``scores(rows) -> (len(rows), n_items)`` built from
:class:`Interactions`, so baselines and ours go through the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from reelstream.evaluation.metrics import ranking_metrics, top_k

__all__ = ["Interactions", "Scores", "holdout_split", "evaluate_ranking", "protocol_splits"]

Scores = Callable[[np.ndarray], np.ndarray]


def holdout_split(
    ratings: pd.DataFrame, fraction: float = 0.2
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, held-out): each user's last ``n - int((1 - fraction) n)`` ratings by time.

    The held-out part keeps only users and movies that occur in the training part.

    >>> df = pd.DataFrame({"user_id": [1] * 5 + [2] * 2, "movie_id": [5, 4, 3, 2, 1, 1, 9],
    ...                    "rating": [4.0] * 7, "rated_at": [1, 2, 3, 4, 5, 1, 2]})
    >>> train, test = holdout_split(df)
    >>> test[["user_id", "movie_id"]].values.tolist()
    [[1, 1]]
    """
    ordered = ratings.sort_values(["user_id", "rated_at", "movie_id"], kind="mergesort")
    position = ordered.groupby("user_id", sort=False).cumcount().to_numpy()
    counts = ordered.groupby("user_id", sort=False)["movie_id"].transform("size").to_numpy()
    n_train = (counts * (1.0 - fraction) + 1e-9).astype(np.int64)
    is_test = position >= n_train
    train = ordered.loc[~is_test].reset_index(drop=True)
    test = ordered.loc[is_test]
    test = test.loc[test["user_id"].isin(train["user_id"]) & test["movie_id"].isin(train["movie_id"])]
    return train, test.reset_index(drop=True)


def protocol_splits(
    ratings: pd.DataFrame, fraction: float = 0.2
) -> tuple[tuple[pd.DataFrame, pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]]:
    """((train, test), (inner train, validation)): validation carved from train the same way."""
    train, test = holdout_split(ratings, fraction)
    return (train, test), holdout_split(train, fraction)


@dataclass
class Interactions:
    """A training part as sparse matrices over fixed user/movie indexes.

    ``ratings[u, i]`` is the rating; ``age[u, i]`` counts how many of the user's ratings came
    after it (0 = the newest), so recency weights need no timestamps.
    """

    user_ids: np.ndarray
    movie_ids: np.ndarray
    ratings: sp.csr_matrix
    age: sp.csr_matrix
    order: list[np.ndarray]  # per user row, item columns oldest -> newest

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Interactions:
        frame = frame.sort_values(["user_id", "rated_at", "movie_id"], kind="mergesort")
        frame = frame.drop_duplicates(["user_id", "movie_id"], keep="last")
        users, rows = np.unique(frame["user_id"].to_numpy(np.int64), return_inverse=True)
        items, cols = np.unique(frame["movie_id"].to_numpy(np.int64), return_inverse=True)
        age = frame.groupby("user_id", sort=False).cumcount(ascending=False).to_numpy()
        shape = (users.size, items.size)
        ratings = sp.csr_matrix((frame["rating"].to_numpy(np.float64), (rows, cols)), shape=shape)
        # +1 keeps the newest (age 0) as a stored entry; callers subtract it back.
        ages = sp.csr_matrix((age + 1.0, (rows, cols)), shape=shape)
        bounds = np.flatnonzero(np.diff(rows)) + 1
        order = np.split(cols, bounds)
        return cls(users, items, ratings, ages, order)

    @property
    def binary(self) -> sp.csr_matrix:
        out = self.ratings.copy()
        out.data = np.ones_like(out.data)
        return out

    def recency(self, halflife: float, floor: float = 0.0) -> sp.csr_matrix:
        """Entries weighted ``max(0.5 ** (age / halflife), floor)``; halflife 0 = all ones."""
        out = self.age.copy()
        if halflife > 0:
            out.data = np.maximum(0.5 ** ((out.data - 1.0) / halflife), floor)
        else:
            out.data = np.ones_like(out.data)
        return out

    @property
    def popularity(self) -> np.ndarray:
        return np.diff(self.ratings.tocsc().indptr).astype(np.float64)


def _rows_for(data: Interactions, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    row_of = {int(u): r for r, u in enumerate(data.user_ids)}
    col_of = {int(m): c for c, m in enumerate(data.movie_ids)}
    rows = np.array([row_of.get(int(u), -1) for u in frame["user_id"]], dtype=np.int64)
    cols = np.array([col_of.get(int(m), -1) for m in frame["movie_id"]], dtype=np.int64)
    return rows, cols


def evaluate_ranking(
    scores: Scores,
    data: Interactions,
    test: pd.DataFrame,
    k: int = 10,
    threshold: float = 4.0,
    batch_size: int = 256,
    per_user: bool = False,
) -> dict[str, float | np.ndarray]:
    """NDCG@k and Recall@k under the protocol, plus the top-k lists (``lists``) for reuse."""
    relevant = test.loc[test["rating"] >= threshold]
    rows, cols = _rows_for(data, relevant)
    keep = (rows >= 0) & (cols >= 0)
    wanted = sp.csr_matrix(
        (np.ones(int(keep.sum()), dtype=bool), (rows[keep], cols[keep])), shape=data.ratings.shape
    )
    users = np.flatnonzero(np.diff(wanted.indptr))
    n_rel = np.diff(wanted.indptr)[users]
    seen = data.ratings
    ndcg, recall, lists = [], [], []
    for start in range(0, users.size, batch_size):
        batch = users[start:start + batch_size]
        s = np.array(scores(batch), dtype=np.float64)
        s[seen[batch].toarray() != 0] = -np.inf
        top = top_k_stable(s, k)
        hits = np.take_along_axis(wanted[batch].toarray(), top, axis=1)
        m = ranking_metrics(hits, n_rel[start:start + batch_size], k)
        ndcg.append(m["ndcg"])
        recall.append(m["recall"])
        lists.append(top)
    out: dict[str, float | np.ndarray] = {
        f"ndcg_at_{k}": float(np.concatenate(ndcg).mean()) if ndcg else 0.0,
        f"recall_at_{k}": float(np.concatenate(recall).mean()) if recall else 0.0,
        "n_eval_users": float(users.size),
    }
    if per_user:
        out["ndcg_per_user"] = np.concatenate(ndcg) if ndcg else np.zeros(0)
    out["lists"] = np.concatenate(lists) if lists else np.zeros((0, k), dtype=np.int64)
    out["list_users"] = users
    return out


def top_k_stable(scores: np.ndarray, k: int) -> np.ndarray:
    """Like :func:`top_k`, but a tie always goes to the lower column, whatever the partition."""
    k = min(k, scores.shape[1])
    # Shift ties apart by column without changing any strict order of finite scores.
    cols = np.arange(scores.shape[1])
    order = np.lexsort((np.broadcast_to(cols, scores.shape), -scores), axis=1)
    return order[:, :k] if scores.shape[0] else top_k(scores, k)
