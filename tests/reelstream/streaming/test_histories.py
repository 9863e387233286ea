"""Known users: a stored history is read once per user and handed to the model (pure)."""

from __future__ import annotations

from reelstream.models import OnlineConfig, OnlineRecommender
from reelstream.streaming.histories import KnownUsers


def test_only_new_users_are_read_and_applied_histories_exclude_rated_movies():
    model = OnlineRecommender(OnlineConfig(cold_start_min_ratings=1))
    for movie in (1, 2, 3):
        model.learn_one(9, movie, 4.0, 0.0)
    known = KnownUsers()
    reads = []

    def read(users):
        reads.append(set(users))
        return {u: {1, 2} for u in users}

    histories = known.read_new({1, 2}, read)
    known.apply(model, histories)

    assert known.read_new({1, 2}, read) == {}
    assert known.read_new({2, 3}, read) == {3: {1, 2}}
    assert reads == [{1, 2}, {3}]
    assert {m for m, _ in model.recommend(1, 10)} <= {3}
