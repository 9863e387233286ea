"""Score any model with ``predict``/``rank_scores``/``user_index``/``item_index`` on a split.

Ranking is over every catalogue movie (the model's training items) the user has not rated in
training; relevant = held-out ratings at or above ``threshold``. Users are scored in batches
of ``batch_size`` as dense (batch, n_items) matrices, so ml-latest-small takes well under a
second per model.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp

from reelstream.evaluation.metrics import coverage, ranking_metrics, rmse, top_k

__all__ = ["Scorer", "evaluate_model"]


class Scorer(Protocol):
    movie_ids: np.ndarray

    def predict(self, user_ids: np.ndarray, movie_ids: np.ndarray) -> np.ndarray: ...
    def rank_scores(self, user_rows: np.ndarray) -> np.ndarray: ...
    def user_index(self, user_ids: np.ndarray) -> np.ndarray: ...
    def item_index(self, movie_ids: np.ndarray) -> np.ndarray: ...


def _matrix(model: Scorer, frame: pd.DataFrame, users: np.ndarray) -> sp.csr_matrix:
    """Rows = ``users`` (positions), columns = the model's items; unknown items dropped."""
    row_of = {int(u): r for r, u in enumerate(users)}
    rows = np.array([row_of.get(int(u), -1) for u in frame["user_id"]], dtype=np.int64)
    cols = model.item_index(frame["movie_id"].to_numpy())
    keep = (rows >= 0) & (cols >= 0)
    return sp.csr_matrix(
        (np.ones(int(keep.sum()), dtype=bool), (rows[keep], cols[keep])),
        shape=(len(users), len(model.movie_ids)),
    )


def evaluate_model(
    model: Scorer,
    train: pd.DataFrame,
    test: pd.DataFrame,
    k: int = 10,
    threshold: float = 4.0,
    batch_size: int = 512,
) -> dict[str, float]:
    """RMSE on all held-out ratings plus NDCG/recall/precision@k and coverage.

    Held-out users unknown to the model (no training ratings) are left out of the ranking
    metrics; ``n_eval_users`` says how many users were ranked.
    """
    metrics: dict[str, float] = {
        "rmse": rmse(
            test["rating"].to_numpy(),
            model.predict(test["user_id"].to_numpy(), test["movie_id"].to_numpy()),
        )
    }
    relevant = test.loc[test["rating"] >= threshold]
    n_relevant = relevant.groupby("user_id").size()
    users = n_relevant.index.to_numpy(np.int64)
    rows = model.user_index(users)
    known = rows >= 0
    users, rows, n_rel = users[known], rows[known], n_relevant.to_numpy()[known]
    seen = _matrix(model, train, users)
    wanted = _matrix(model, relevant, users)

    per_user: dict[str, list[np.ndarray]] = {"ndcg": [], "recall": [], "precision": []}
    recommended: list[np.ndarray] = []
    for start in range(0, len(users), batch_size):
        stop = min(start + batch_size, len(users))
        scores = np.array(model.rank_scores(rows[start:stop]), dtype=np.float64)
        scores[seen[start:stop].toarray()] = -np.inf
        top = top_k(scores, k)
        hits = np.take_along_axis(wanted[start:stop].toarray(), top, axis=1)
        for name, values in ranking_metrics(hits, n_rel[start:stop], k).items():
            per_user[name].append(values)
        recommended.append(top)

    for name, chunks in per_user.items():
        metrics[f"{name}_at_{k}"] = float(np.concatenate(chunks).mean()) if chunks else 0.0
    metrics["coverage"] = (
        coverage(np.concatenate(recommended), len(model.movie_ids)) if recommended else 0.0
    )
    metrics["n_eval_users"] = float(len(users))
    return metrics
