"""The worker's learner is River itself: the settings it is built from, and what it reads."""

from __future__ import annotations

import numpy as np
import pytest
from river import optim, reco

from reelstream.models import NumpyBiasedMF, OnlineConfig, OnlineRecommender, load_online_config
from reelstream.models.config import OnlineConfigError
from reelstream.models.learners import build_learner, river_model
from reelstream.models.river_learner import RiverLearner

from .checks import EVENTS


def _plain_river(cfg: OnlineConfig) -> reco.BiasedMF:
    return reco.BiasedMF(
        n_factors=cfg.n_factors,
        bias_optimizer=optim.SGD(cfg.bias_lr),
        latent_optimizer=optim.SGD(cfg.latent_lr),
        l2_bias=cfg.l2_bias,
        latent_initializer=optim.initializers.Normal(mu=0.0, sigma=cfg.init_sigma, seed=cfg.seed),
    )


def test_default_learner_is_river_biased_mf_and_learns_as_river_does():
    cfg = OnlineConfig(bias_lr=0.04, latent_lr=0.07, l2_bias=0.02, init_sigma=0.05)
    model, plain = OnlineRecommender(cfg), _plain_river(cfg)
    assert isinstance(model.mf, RiverLearner) and isinstance(model.mf.river, reco.BiasedMF)
    for u, i, y, _ in EVENTS:
        model.learn_one(u, i, y)
        plain.learn_one(u, model.index.get(i), y)  # River's items are the model's rows
    for u, i, _, _ in EVENTS[:60]:
        assert model.mf.predict_one(u, model.index.get(i)) == pytest.approx(
            plain.predict_one(u, model.index.get(i))
        )


def test_learn_one_returns_the_prediction_before_the_rating():
    learner = build_learner(OnlineConfig())
    learner.learn_one(1, 0, 4.0)
    before = learner.predict_one(1, 0)
    assert learner.learn_one(1, 0, 1.0) == pytest.approx(before)
    assert learner.predict_one(1, 0) < before


@pytest.mark.parametrize("name", ["reco.FunkMF", "reco.Baseline", "numpy"])
def test_other_learners_rank_and_checkpoint(name):
    model = OnlineRecommender(OnlineConfig(learner=name))
    model.learn_many(EVENTS)
    if name == "numpy":
        assert isinstance(model.mf, NumpyBiasedMF)
    else:
        assert type(model.mf.river).__name__ == name.split(".")[1]
    restored = OnlineRecommender.from_bytes(model.to_bytes())
    assert restored.recommend(3, 10) == model.recommend(3, 10)
    assert restored.predict_one(3, EVENTS[0][1]) == model.predict_one(3, EVENTS[0][1])


def test_optimizer_is_a_river_optimizer():
    river = river_model(OnlineConfig(optimizer="AdaGrad", bias_lr=0.1))
    assert isinstance(river.u_bias_optimizer, optim.AdaGrad)
    model = OnlineRecommender(OnlineConfig(optimizer="AdaGrad"))
    model.learn_many(EVENTS)
    assert np.isfinite(model.predict_one(1, EVENTS[0][1]))


def test_invalid_settings_are_refused_at_start_with_the_key(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("online:\n  learner: reco.Nope\n  bias_lr: -1\n")
    with pytest.raises(OnlineConfigError) as err:
        load_online_config(params)
    message = str(err.value)
    assert "online" in message and "learner" in message and "bias_lr" in message
    params.write_text("online:\n  n_factor: 3\n")  # a typo
    with pytest.raises(OnlineConfigError, match="n_factor"):
        load_online_config(params)


def test_item_state_and_deltas_read_and_write_river_weights():
    learner = build_learner(OnlineConfig(n_factors=3))
    learner.learn_one(1, 0, 4.0)
    q, b = learner.item_state(0)
    learner.add_to_item(0, np.ones(3), 0.5)
    np.testing.assert_allclose(learner.river.i_latents[0], q + 1.0)
    assert learner.river.i_biases[0] == pytest.approx(b + 0.5)
    learner.add_to_item(5, np.full(3, 2.0), 1.0)  # a movie only another worker saw
    assert learner.item_state(5)[1] == 1.0 and learner.n_rows == 6
    assert learner.item_state(7) == (None, 0.0)


def test_last_prediction_is_predict_one_before_learning():
    model = OnlineRecommender()  # the MF prediction alone
    blended = OnlineRecommender(OnlineConfig(rating_blend=True, blend_shrinkage=1.0))
    for m in (model, blended):
        for u, i, y, _ in EVENTS[:300]:
            before = m.predict_one(u, i)
            m.learn_one(u, i, y)
            assert m.last_prediction == pytest.approx(before, abs=1e-9)
