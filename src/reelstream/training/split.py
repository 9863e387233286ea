"""Per-user temporal hold-out: each user's most recent ratings are the test set.

A random split leaks the future into training (a user's later tastes, movies released later);
holding out each user's *last* ratings measures what a deployed recommender faces.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SNAPSHOT_COLUMNS", "temporal_split"]

#: Columns of a ratings snapshot, as returned by ``EventStore.ratings_snapshot``.
SNAPSHOT_COLUMNS = ("user_id", "movie_id", "rating", "rated_at")


def temporal_split(
    ratings: pd.DataFrame, test_fraction: float = 0.2
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a snapshot into (train, test): per user, the last ``test_fraction`` by time.

    A user with ``n`` ratings gives ``floor(n * test_fraction)`` of them to the test set, the
    most recent ones (ties on ``rated_at`` broken by ``movie_id`` so the split is
    deterministic). Users with too few ratings stay entirely in training.

    >>> df = pd.DataFrame({"user_id": [1] * 5, "movie_id": [5, 4, 3, 2, 1],
    ...                    "rating": [4.0] * 5, "rated_at": [1, 2, 3, 4, 5]})
    >>> train, test = temporal_split(df)
    >>> test.movie_id.tolist(), sorted(train.movie_id.tolist())
    ([1], [2, 3, 4, 5])
    """
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError("test_fraction must be in [0, 1)")
    missing = set(SNAPSHOT_COLUMNS) - set(ratings.columns)
    if missing:
        raise ValueError(f"snapshot lacks columns {sorted(missing)}")
    ordered = ratings.sort_values(["user_id", "rated_at", "movie_id"], kind="mergesort")
    position = ordered.groupby("user_id", sort=False).cumcount().to_numpy()
    counts = ordered.groupby("user_id", sort=False)["movie_id"].transform("size").to_numpy()
    n_test = np.floor(counts * test_fraction + 1e-9).astype(np.int64)
    is_test = position >= counts - n_test
    return (
        ordered.loc[~is_test].reset_index(drop=True),
        ordered.loc[is_test].reset_index(drop=True),
    )
