"""``rebase_on_champion``: the champion's weights, the stream's state (unit level, no servers)."""

from __future__ import annotations

import numpy as np

from reelstream.models import OnlineRecommender
from reelstream.models.batch_als import BatchParams, train_batch_model
from reelstream.streaming.promotion import rebase_on_champion
from reelstream.training.registry import Champion


def test_rebase_takes_champion_weights_and_keeps_stream_state(ratings):
    batch = train_batch_model(ratings, BatchParams(factors=4, iterations=3))
    online = OnlineRecommender()
    stream = ratings.sort_values("rated_at").head(400)
    online.learn_many(zip(stream.user_id.tolist(), stream.movie_id.tolist(),
                          stream.rating.tolist(), strict=True))
    user = int(stream.user_id.iloc[-1])
    ranked_before = online.recommend(user, 10)

    rebased = rebase_on_champion(online, Champion(version="7", model=batch))

    assert rebased.version == "champion-v7+online"
    assert rebased.events_learned == online.events_learned == 400
    # what only the stream knows is carried over, not rebuilt empty
    assert rebased.rated is online.rated and rebased.trending is online.trending
    assert rebased.transitions is online.transitions
    assert rebased.index is online.index
    # the weights are the champion's
    assert rebased.n_factors == batch.n_factors
    movie = int(batch.movie_ids[0])
    np.testing.assert_allclose(rebased.item_factors[online.index.get(movie)],
                               batch.item_factors[0], rtol=1e-5)
    recs = rebased.recommend(user, 10)
    assert recs and not {m for m, _ in recs} & set(stream.movie_id[stream.user_id == user])
    assert recs != ranked_before
    rebased.learn_one(user, movie, 5.0)  # online learning goes on
    assert rebased.events_learned == 401
