"""Recommendation models.

Online (streaming) models learn one rating event at a time and rank every known movie with
numpy; see :class:`OnlineRecommender`. Batch models live in their own modules.
"""

from __future__ import annotations

from .base import Recommender, top_n
from .config import OnlineConfig, load_online_config
from .cooccurrence import Transitions
from .online import OnlineRecommender
from .numpy_mf import NumpyBiasedMF
from .popularity import Popularity
from .rating_blend import RatingBlend
from .river_mf import RiverMF

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
]
