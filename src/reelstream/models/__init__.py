"""Recommendation models.

Online (streaming) models learn one rating event at a time and rank every known movie with
numpy; see :class:`OnlineRecommender`. Batch models live in their own modules.

River (and scipy behind it) is imported only when :class:`RiverMF` or
``tutorial_biased_mf`` is first used, so the worker starts without it.
"""

from __future__ import annotations

from .base import Recommender, top_n
from .config import OnlineConfig, load_online_config
from .cooccurrence import Transitions
from .online import OnlineRecommender
from .numpy_mf import NumpyBiasedMF
from .popularity import Popularity
from .rating_blend import RatingBlend

__all__ = [
    "OnlineConfig",
    "NumpyBiasedMF",
    "OnlineRecommender",
    "Popularity",
    "RatingBlend",
    "Recommender",
    "RiverMF",
    "Transitions",
    "load_online_config",
    "top_n",
    "tutorial_biased_mf",
]

_LAZY = {"RiverMF": "river_mf", "tutorial_biased_mf": "river_mf"}


def __getattr__(name: str):
    """``RiverMF`` and ``tutorial_biased_mf`` import River on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
