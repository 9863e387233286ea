"""Behaviour of OnlineRecommender beyond the generic checks."""

from __future__ import annotations

import numpy as np
import pytest
from river import optim, reco

from reelstream.models import (
    NumpyBiasedMF,
    OnlineConfig,
    OnlineRecommender,
    RiverMF,
    load_online_config,
    top_n,
)
from reelstream.models.item_index import ItemIndex
from reelstream.models.river_learner import RiverLearner
from reelstream.models.river_mf import tutorial_biased_mf

from .checks import EVENTS


@pytest.fixture
def model():
    m = OnlineRecommender()
    m.learn_many(EVENTS)
    return m


def _unclipped(m, user, item):
    if isinstance(m, RiverMF):
        return m.mf.predict_one(user, item)
    return m.mf.predict_one(user, m.index.get(item))


def test_vectorised_top_n_equals_brute_force_predict_loop(model):
    cfg_free = RiverMF()  # plain River, ranking = predicted rating
    cfg_free.learn_many(EVENTS)
    for m in (model, cfg_free):
        ids = m.index.ids.tolist()
        for user in range(1, 41):
            rated = {i for u, i, _, _ in EVENTS if u == user}
            candidates = [i for i in ids if i not in rated]
            brute = np.array([_unclipped(m, user, i) for i in candidates])  # unclipped
            expected = [candidates[j] for j in np.argsort(-brute, kind="stable")[:10]]
            got = m.recommend(user, 10)
            assert [i for i, _ in got] == expected
            np.testing.assert_allclose(
                [s for _, s in got], np.sort(brute)[::-1][:10], rtol=1e-5, atol=1e-5
            )


def test_float32_mirror_matches_learner_weights(model):
    n = len(model.index)
    np.testing.assert_allclose(model.item_factors, model.mf.item_factors[:n], rtol=1e-6)
    np.testing.assert_allclose(model.item_biases, model.mf.item_biases[:n], atol=1e-6)


def _river(n_factors=10, bias_lr=0.025, latent_lr=0.05, l2_bias=0.0, l2_latent=0.0,
           sigma=0.1, seed=73, clip=1e12):
    return reco.BiasedMF(
        n_factors=n_factors,
        bias_optimizer=optim.SGD(bias_lr),
        latent_optimizer=optim.SGD(latent_lr),
        weight_initializer=optim.initializers.Zeros(),
        latent_initializer=optim.initializers.Normal(mu=0.0, sigma=sigma, seed=seed),
        l2_bias=l2_bias,
        l2_latent=l2_latent,
        clip_gradient=clip,
    )


@pytest.mark.parametrize(
    "params",
    [
        {},  # River's tutorial settings
        {"n_factors": 4, "bias_lr": 0.04, "latent_lr": 0.07, "l2_bias": 0.02, "sigma": 0.05},
        {"n_factors": 3, "l2_latent": 0.05, "clip": 0.5, "seed": 1},
    ],
    ids=["tutorial", "l2-bias", "l2-latent-clipped"],
)
def test_numpy_learner_is_rivers_biased_mf(params):
    """Same seed and init: our vectorised learner predicts what River's BiasedMF predicts."""
    river_mf = _river(**params)
    ours = NumpyBiasedMF(
        n_factors=params.get("n_factors", 10),
        bias_lr=params.get("bias_lr", 0.025),
        latent_lr=params.get("latent_lr", 0.05),
        l2_bias=params.get("l2_bias", 0.0),
        l2_latent=params.get("l2_latent", 0.0),
        init_sigma=params.get("sigma", 0.1),
        seed=params.get("seed", 73),
        clip_gradient=params.get("clip", 1e12),
    )
    index = ItemIndex()
    for step, (u, i, y, _) in enumerate(EVENTS, start=1):
        # test-then-learn, as in the prequential run, on pairs River already knows
        if step % 7 == 0 and u in river_mf.u_latents and i in river_mf.i_latents:
            assert ours.predict_one(u, index.get(i)) == pytest.approx(
                river_mf.predict_one(u, i), abs=1e-6
            )
        river_mf.learn_one(u, i, y)
        ours.learn_one(u, index.add(i), y)
    assert ours.global_mean == pytest.approx(river_mf.global_mean.get(), abs=1e-12)
    for u, i, _, _ in EVENTS:
        row = index.get(i)
        assert ours.predict_one(u, row) == pytest.approx(river_mf.predict_one(u, i), abs=1e-6)
        np.testing.assert_allclose(ours.item_factors[row], river_mf.i_latents[i], atol=1e-9)
        assert ours.user(u)[0] == pytest.approx(river_mf.u_biases[u], abs=1e-9)


def test_online_model_predicts_rivers_ratings():
    cfg = OnlineConfig(bias_lr=0.04, latent_lr=0.07, l2_bias=0.02, init_sigma=0.05)
    ours = OnlineRecommender(cfg)
    river_mf = _river(bias_lr=0.04, latent_lr=0.07, l2_bias=0.02, sigma=0.05)
    for u, i, y, t in EVENTS:
        ours.learn_one(u, i, y, t)
        river_mf.learn_one(u, i, y)
    for u, i, _, _ in EVENTS[:100]:
        expected = min(max(river_mf.predict_one(u, i), 0.5), 5.0)
        assert ours.predict_one(u, i) == pytest.approx(expected, abs=1e-6)


def test_learning_equals_plain_river():
    ours, river_mf = RiverMF(), tutorial_biased_mf()
    for u, i, y, _ in EVENTS:
        ours.learn_one(u, i, y)
        river_mf.learn_one(u, i, y)
    for u, i, _, _ in EVENTS[:50]:
        expected = min(max(river_mf.predict_one(u, i), 0.5), 5.0)
        assert ours.predict_one(u, i) == pytest.approx(expected)


def test_cold_start_is_flagged_and_popular(model):
    assert model.source(12345) == "popular" and not model.is_known(12345)
    assert model.source(EVENTS[0][0]) == "model"
    assert [i for i, _ in model.recommend(12345, 5)] == [i for i, _ in model.popular(5)]
    assert model.mf.user(12345)[1] is None  # recommending did not create the user


def test_cold_start_threshold():
    m = OnlineRecommender(OnlineConfig(cold_start_min_ratings=3))
    m.learn_many([(1, 10, 4.0), (1, 11, 3.0)])
    assert m.source(1) == "popular"
    m.learn_one(1, 12, 5.0)
    assert m.source(1) == "model"


def test_predict_one_does_not_create_unknowns(model):
    users, items = model.mf.n_users, model.mf.n_items
    model.predict_one(777, 888)
    assert (model.mf.n_users, model.mf.n_items, len(model.index)) == (users, items, 60)


def test_warm_start_uses_given_factors():
    m = OnlineRecommender(OnlineConfig(n_factors=2))
    m.warm_start(
        item_factors={10: [1.0, 0.0], 20: [0.0, 1.0], 30: [0.7, 0.7]},
        item_biases=(np.array([10, 20, 30]), np.array([0.1, 0.2, 0.3])),
        global_mean=3.0,
        version="mf-v7",
        user_factors={1: [1.0, 0.0]},
        user_biases={1: 0.5},
    )
    assert m.version == "mf-v7+online"
    assert m.global_mean == pytest.approx(3.0)
    assert m.predict_one(1, 10) == pytest.approx(3.0 + 0.5 + 0.1 + 1.0)
    assert m.source(1) == "model"
    assert [i for i, _ in m.recommend(1, 3)] == [10, 30, 20]
    np.testing.assert_allclose(m.item_factors[m.index.get(30)], [0.7, 0.7], rtol=1e-6)
    assert m.similar(10, 2)[0][0] == 30
    # Learning continues from the seeded weights.
    m.learn_one(1, 20, 5.0)
    assert m.has_rated(1, 20) and m.events_learned == 1
    assert 20 not in [i for i, _ in m.recommend(1, 3)]


def test_warm_start_rejects_wrong_shape():
    m = OnlineRecommender(OnlineConfig(n_factors=3))
    with pytest.raises(ValueError, match="expected"):
        m.warm_start({1: [1.0, 2.0]}, {1: 0.0}, 3.0, "v1")


def test_similar_is_cosine(model):
    item = EVENTS[0][1]
    got = model.similar(item, 5)
    v = model.item_factors
    q = v[model.index.get(item)]
    cos = v @ q / (np.linalg.norm(v, axis=1) * np.linalg.norm(q))
    cos[model.index.get(item)] = -np.inf
    expected = model.index.ids[np.argsort(-cos, kind="stable")[:5]].tolist()
    assert [i for i, _ in got] == expected
    assert model.similar(424242, 5) == []


def test_popularity_blend_changes_ranking_only():
    base = OnlineRecommender()
    blend = OnlineRecommender(OnlineConfig(popularity_weight=5.0, popularity_half_life=100))
    base.learn_many(EVENTS)
    blend.learn_many(EVENTS)
    assert base.predict_one(1, 2) == blend.predict_one(1, 2)
    assert base.version != blend.version


def test_checkpoint_is_compact_arrays(model):
    data = model.to_bytes()
    restored = OnlineRecommender.from_bytes(data)
    assert restored.version == model.version
    assert restored.events_learned == model.events_learned
    with pytest.raises(TypeError):
        RiverMF.from_bytes(__import__("pickle").dumps(object()))
    assert isinstance(restored.mf, RiverLearner) and isinstance(restored.mf.river, reco.BiasedMF)
    assert restored.recommend(3, 10) == model.recommend(3, 10)
    # learning goes on from the checkpoint exactly as without it (River's RNG included)
    for m in (model, restored):
        m.learn_many([(99, 1, 4.0), (3, 4242, 2.0)])
    assert restored.recommend(99, 10) == model.recommend(99, 10)
    # buffers are not part of the checkpoint
    state = model.__getstate__()
    assert "_score_buf" not in state and "_factors" not in state


def test_top_n_ties_and_exclusions():
    scores = np.array([1.0, 3.0, 3.0, 2.0, 3.0])
    assert top_n(scores, 2).tolist() == [1, 2]
    assert top_n(scores, 10, exclude=np.array([2])).tolist() == [1, 4, 3, 0]
    assert scores[2] == 3.0  # not overwritten by default
    assert top_n(scores, 0).tolist() == []


def test_config_from_params(tmp_path):
    (tmp_path / "params.yaml").write_text("batch:\n  x: 1\nonline:\n  n_factors: 4\n")
    assert load_online_config(tmp_path / "params.yaml").n_factors == 4
    with pytest.raises(FileNotFoundError, match="missing.yaml"):  # named and missing: an error
        load_online_config(tmp_path / "missing.yaml")


def test_rebase_like_the_worker_keeps_stream_state(model):
    """What ``streaming.promotion.rebase_on_champion`` does: carry index, rated, trending and
    transitions over to a fresh model, grow its arrays, then warm-start it."""
    config = model.config.model_copy(update={"n_factors": 3})
    fresh = OnlineRecommender(config)
    fresh.index, fresh.rated, fresh.trending = model.index, model.rated, model.trending
    fresh.transitions = model.transitions
    fresh.events_learned = model.events_learned
    fresh._ensure_capacity()
    ids = model.index.ids[:10]
    fresh.warm_start((ids, np.ones((10, 3))), (ids, np.zeros(10)), 3.5, "champion-v2")
    assert fresh.version == "champion-v2+online"
    user = EVENTS[0][0]
    recs = fresh.recommend(user, 100)
    assert len(recs) == len(model.index) - model.rated.count(user)
    assert not {m for m, _ in recs} & {m for u, m, _, _ in EVENTS if u == user}
    fresh.learn_one(user, 4242, 5.0)  # a new movie after the rebase
    assert fresh.has_rated(user, 4242) and fresh.predict_one(user, 4242) > 0


def test_recommend_many_equals_recommend_per_user(model):
    users = [1, 2, 3, 999, 2]  # a cold user, a repeat
    many = model.recommend_many(users, n=5)
    assert list(many) == [1, 2, 3, 999]
    for user in many:
        assert many[user] == model.recommend(user, 5)


def test_similar_many_equals_similar_per_movie(model):
    movies = model.index.ids[:5].tolist() + [987654]
    many = model.similar_many(movies, n=3)
    assert 987654 not in many and model.similar(987654) == []
    for movie in movies[:5]:
        assert [m for m, _ in many[movie]] == [m for m, _ in model.similar(movie, 3)]
        assert movie not in [m for m, _ in many[movie]]
