"""Hyper-parameters of the online model: the ``online:`` section of ``params.yaml``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reelstream.params import read_section

__all__ = [
    "OnlineConfig",
    "OnlineConfigError",
    "load_online_config",
    "load_challenger_overrides",
    "online_config",
    "LEARNERS",
    "OPTIMIZERS",
]

#: River ``reco`` models the worker can learn with (their item weights are mirrored for
#: ranking), and ``numpy``: River's ``BiasedMF`` step ported to numpy (a fallback).
LEARNERS = ("reco.BiasedMF", "reco.FunkMF", "reco.Baseline", "numpy")
#: ``river.optim`` optimisers for the learner's biases and latent factors.
OPTIMIZERS = ("SGD", "AdaGrad", "RMSProp", "Adam")


class OnlineConfigError(ValueError):
    """The ``online:`` settings are invalid; the message names each wrong key."""



class OnlineConfig(BaseModel):
    """Settings of :class:`~reelstream.models.OnlineRecommender`.

    The rating model is a River ``reco`` model, ``learner`` (``BiasedMF`` by default: its
    settings are ``n_factors``, the ``optimizer`` with rates ``bias_lr``/``latent_lr``, the
    ``l2_*`` penalties, ``init_sigma``, ``seed`` and ``clip_gradient``); the ranking adds
    online signals,
    because what a user rates next is better predicted by what they just rated and by what
    is popular now than by the highest predicted rating alone::

        rank_score = mf_weight * mf_score
                     + popularity_weight * log1p(trending_count)
                     + transition_weight * log1p(transition_scale * transition_score)
                     + item_weight * item_item_score / its spread
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    learner: Literal[LEARNERS] = Field(  # type: ignore[valid-type]
        "reco.BiasedMF", description="River model learning (user, movie, rating)."
    )
    optimizer: Literal[OPTIMIZERS] = Field(  # type: ignore[valid-type]
        "SGD", description="river.optim optimiser of the biases and latent factors."
    )
    n_factors: int = Field(10, ge=1)
    bias_lr: float = Field(0.025, gt=0)
    latent_lr: float = Field(0.05, gt=0)
    l2_bias: float = Field(0.0, ge=0)
    l2_latent: float = Field(0.0, ge=0)
    init_sigma: float = Field(0.1, ge=0)
    seed: int = 73
    clip_gradient: float = Field(1e12, gt=0, description="Bound on |loss gradient| (River's).")
    min_rating: float = 0.5
    max_rating: float = 5.0
    rating_blend: bool = Field(
        False, description="Stack the MF rating with user/item means by online least squares."
    )
    blend_shrinkage: float = Field(5.0, ge=0)
    blend_residual_decay: float = Field(0.3, gt=0, le=1)
    blend_forgetting: float = Field(0.9999, gt=0, le=1)
    popularity_half_life: float | None = Field(
        None, gt=0, description="Events after which a rating counts half for trending."
    )
    mf_weight: float = 1.0
    popularity_weight: float = 0.0
    transition_weight: float = Field(
        0.0, ge=0, description="Weight of the item-to-item transition score (0 = off)."
    )
    transition_scale: float = Field(100.0, gt=0)
    transition_window: int = Field(
        5, ge=1, description="Each user's last movies linked to (and scoring) the next."
    )
    transition_decay: float = Field(0.8, gt=0, le=1, description="Weight per step of distance.")
    transition_reverse_weight: float = Field(0.0, ge=0)
    transition_top_k: int | None = Field(
        None, ge=1, description="Links per movie a score reads, the strongest (None = all)."
    )
    item_weight: float = Field(
        0.0, ge=0, description="Weight of the item-item (EASE) term over the user's history."
    )
    item_lambda: float = Field(200.0, gt=0, description="EASE ridge penalty.")
    item_halflife: float = Field(5.0, ge=0, description="Ratings; age weight of the history.")
    item_neighbours: int = Field(100, ge=1, description="Weights kept per movie.")
    item_max_history: int = Field(
        50, ge=1, description="The user's newest ratings the term reads (older weigh little)."
    )
    item_max_items: int = Field(
        3000, ge=0, description="Most-rated movies a refit covers (0 = all; 4·n² bytes)."
    )
    item_refit_every: int = Field(
        0, ge=0, description="Refit from the learned events every N events (0 = champion only)."
    )
    cold_start_min_ratings: int = Field(
        1, ge=1, description="Users with fewer ratings are served the popular list."
    )


def load_online_config(path: str | Path | None = None) -> OnlineConfig:
    """The ``online:`` section of the parameters file (:func:`reelstream.params.resolve_params`:
    ``path``, else ``REELSTREAM_PARAMS``, else the packaged defaults)."""
    return online_config(read_section("online", path), "online")


def load_challenger_overrides(path: str | Path | None = None) -> dict | None:
    """The ``challenger:`` section of the parameters file (settings of ``online:`` a shadow
    challenger changes), or None when there is none."""
    return read_section("challenger", path) or None


def online_config(section: dict, where: str = "online") -> OnlineConfig:
    """:class:`OnlineConfig` from a mapping; :class:`OnlineConfigError` names each wrong key."""
    try:
        return OnlineConfig(**section)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '?'}: {e['msg']}" for e in exc.errors()
        )
        raise OnlineConfigError(f"{where}: {problems}") from None
