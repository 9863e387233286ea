"""Serving logic behind the HTTP API (``api/``): publishing rating events, reading
recommendations with their fallbacks, the in-process movie catalog and the API's metrics.

Nothing here imports FastAPI; ``api/`` is a thin HTTP adapter over these classes.
"""

from reelstream.catalog import MovieCatalog, MovieInfo
from reelstream.serving.context import ServingContext
from reelstream.serving.metrics import ApiMetrics
from reelstream.serving.publisher import BrokerUnavailable, PublishResult, RatingPublisher
from reelstream.serving.store_pool import StorePool, StoreUnavailable
from reelstream.serving.recommendations import (
    RecommendationReader,
    RecommendationsUnavailable,
    ServedRecommendations,
)

__all__ = [
    "ApiMetrics",
    "BrokerUnavailable",
    "MovieCatalog",
    "MovieInfo",
    "PublishResult",
    "RatingPublisher",
    "RecommendationReader",
    "RecommendationsUnavailable",
    "ServedRecommendations",
    "ServingContext",
    "StorePool",
    "StoreUnavailable",
]
