from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def make_ratings(n_users: int = 60, n_items: int = 80, per_user: int = 25, seed: int = 0,
                 k: int = 3) -> pd.DataFrame:
    """Ratings from a low-rank model plus noise, with popular items rated more often."""
    rng = np.random.default_rng(seed)
    p = rng.normal(0, 0.7, (n_users, k))
    q = rng.normal(0, 0.7, (n_items, k))
    bias = rng.normal(0, 0.4, n_items)
    weight = np.exp(-np.arange(n_items) / 25.0)
    rows = []
    for u in range(n_users):
        items = rng.choice(n_items, size=per_user, replace=False, p=weight / weight.sum())
        for t, i in enumerate(items):
            r = 3.4 + bias[i] + p[u] @ q[i] + rng.normal(0, 0.3)
            rows.append((u + 1, int(i) + 1, float(np.clip(np.round(r * 2) / 2, 0.5, 5.0)),
                         1_600_000_000 + 3600 * (t + u)))
    return pd.DataFrame(rows, columns=["user_id", "movie_id", "rating", "rated_at"])


@pytest.fixture(scope="session")
def ratings() -> pd.DataFrame:
    return make_ratings()
