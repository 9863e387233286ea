"""The rating learner an :class:`~reelstream.models.online.OnlineRecommender` runs, built from
its :class:`~reelstream.models.config.OnlineConfig` (``learner`` and ``optimizer``)."""

from __future__ import annotations

from .config import OnlineConfig
from .numpy_mf import NumpyBiasedMF

__all__ = ["build_learner", "river_model"]


def river_model(cfg: OnlineConfig):  # noqa: ANN201 - a river.reco model
    """The River ``reco`` model ``cfg.learner`` with ``cfg``'s settings."""
    from river import optim, reco

    opt = getattr(optim, cfg.optimizer)
    normal = optim.initializers.Normal(mu=0.0, sigma=cfg.init_sigma, seed=cfg.seed)
    if cfg.learner == "reco.BiasedMF":
        return reco.BiasedMF(
            n_factors=cfg.n_factors,
            bias_optimizer=opt(cfg.bias_lr),
            latent_optimizer=opt(cfg.latent_lr),
            l2_bias=cfg.l2_bias,
            l2_latent=cfg.l2_latent,
            weight_initializer=optim.initializers.Zeros(),
            latent_initializer=normal,
            clip_gradient=cfg.clip_gradient,
            seed=cfg.seed,
        )
    if cfg.learner == "reco.FunkMF":
        return reco.FunkMF(
            n_factors=cfg.n_factors,
            optimizer=opt(cfg.latent_lr),
            l2=cfg.l2_latent,
            initializer=normal,
            clip_gradient=cfg.clip_gradient,
            seed=cfg.seed,
        )
    if cfg.learner == "reco.Baseline":
        return reco.Baseline(
            optimizer=opt(cfg.bias_lr),
            l2=cfg.l2_bias,
            initializer=optim.initializers.Zeros(),
            clip_gradient=cfg.clip_gradient,
        )
    raise ValueError(f"online.learner {cfg.learner!r} is not a River model")


def build_learner(cfg: OnlineConfig):  # noqa: ANN201 - RiverLearner | NumpyBiasedMF
    """A :class:`RiverLearner` around :func:`river_model`, or the numpy port (``numpy``)."""
    if cfg.learner == "numpy":
        return NumpyBiasedMF(
            n_factors=cfg.n_factors,
            bias_lr=cfg.bias_lr,
            latent_lr=cfg.latent_lr,
            l2_bias=cfg.l2_bias,
            l2_latent=cfg.l2_latent,
            init_sigma=cfg.init_sigma,
            seed=cfg.seed,
            clip_gradient=cfg.clip_gradient,
        )
    from .river_learner import RiverLearner

    return RiverLearner(river_model(cfg), cfg.n_factors)
