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


def test_rebase_adopts_the_champions_item_item_weights_and_keeps_explaining(ratings):
    from reelstream.models import OnlineConfig

    params = BatchParams(factors=4, iterations=3, ranker="ease_seq", ease_lambda=5.0,
                         ease_neighbours=20, ease_max_items=0)
    batch = train_batch_model(ratings, params)
    online = OnlineRecommender(OnlineConfig(item_weight=0.2))
    stream = ratings.sort_values("rated_at").head(400)
    online.learn_many(zip(stream.user_id.tolist(), stream.movie_id.tolist(),
                          stream.rating.tolist(), strict=True))
    assert online.item_item.fitted_rows == 0  # no refit in the stream: champion only

    rebased = rebase_on_champion(online, Champion(version="3", model=batch))

    term = rebased.item_item
    assert term.source == "champion-v3" and term.fitted_rows == len(rebased.index)
    a, b = (int(m) for m in batch.movie_ids[:2])
    ra, rb = rebased.index.get(a), rebased.index.get(b)
    assert term.matrix[ra, rb] == batch.item_ranker.ease[0, 1]
    user = int(stream.user_id.iloc[-1])
    movies = [m for m, _ in rebased.recommend(user, 10)]
    reasons = rebased.explain(user, movies)
    rated = set(stream.movie_id[stream.user_id == user])
    assert any(reasons) and all({m for m, _ in r} <= rated for r in reasons)
