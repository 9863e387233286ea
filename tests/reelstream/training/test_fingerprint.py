"""The snapshot fingerprint that makes a second run on the same ratings a no-op."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from reelstream.models.batch_als import BatchParams
from reelstream.training.run import snapshot_fingerprint


def frame(rows):
    return pd.DataFrame(
        {"user_id": [r[0] for r in rows], "movie_id": [r[1] for r in rows],
         "rating": [r[2] for r in rows],
         "rated_at": pd.to_datetime([r[3] for r in rows], unit="s", utc=True)}
    )


ROWS = [(1, 10, 4.0, 100), (1, 11, 3.5, 200), (2, 10, 5.0, 300)]


def test_same_ratings_same_fingerprint_in_any_order():
    params = BatchParams()
    assert snapshot_fingerprint(frame(ROWS), params) == snapshot_fingerprint(
        frame(list(reversed(ROWS))), params)


def test_a_new_rating_a_changed_rating_or_other_params_change_it():
    params = BatchParams()
    base = snapshot_fingerprint(frame(ROWS), params)
    assert snapshot_fingerprint(frame([*ROWS, (3, 12, 2.0, 400)]), params) != base
    assert snapshot_fingerprint(frame([*ROWS[:2], (2, 10, 4.5, 300)]), params) != base
    assert snapshot_fingerprint(frame(ROWS), replace(params, factors=params.factors + 1)) != base
