from __future__ import annotations

import pandas as pd
import pytest

from reelstream.training.split import temporal_split


def test_each_user_holds_out_their_latest_20_percent():
    rows = [(u, m, 3.0, 1000 * m + u) for u in (1, 2) for m in range(1, 11)]  # 10 per user
    rows += [(3, m, 4.0, m) for m in range(1, 6)]  # 5 ratings -> 1 held out
    rows += [(4, 1, 5.0, 1)]  # 1 rating -> nothing held out
    df = pd.DataFrame(rows, columns=["user_id", "movie_id", "rating", "rated_at"])
    df = df.sample(frac=1.0, random_state=0)  # order of the input must not matter
    train, test = temporal_split(df, 0.2)
    assert len(train) + len(test) == len(df)
    assert test.groupby("user_id").size().to_dict() == {1: 2, 2: 2, 3: 1}
    for user, held in test.groupby("user_id"):
        kept = train.loc[train.user_id == user]
        assert held.rated_at.min() >= kept.rated_at.max()
    assert sorted(test.loc[test.user_id == 1, "movie_id"]) == [9, 10]
    assert (train.user_id == 4).sum() == 1


def test_ties_are_deterministic_and_columns_checked():
    df = pd.DataFrame({"user_id": [1] * 5, "movie_id": [5, 3, 1, 4, 2],
                       "rating": [3.0] * 5, "rated_at": [7] * 5})
    assert temporal_split(df)[1].movie_id.tolist() == [5]
    with pytest.raises(ValueError):
        temporal_split(df.drop(columns="rated_at"))
