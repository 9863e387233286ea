"""Read a user's recommendations for serving, with the fallbacks users expect (GUIDE 6).

Hot path (a user with a cache entry): ONE Redis GET through
``RecommendationCache.get_user_recommendations`` plus an in-memory title/genre lookup in
:class:`~reelstream.serving.catalog.MovieCatalog`.

Fallbacks, every one answered with ``source="popular"`` and a ``reason``:

1. no entry for the user (new user, expired, or Redis was flushed) -> popular list from Redis;
2. Redis has no popular list either, or Redis itself is unreachable -> popular movies by rating
   count from PostgreSQL, computed at most every ``popular_refresh_s`` and kept in process;
3. nothing anywhere -> an empty popular list (still 200).

Only when Redis is unreachable *and* PostgreSQL cannot give a popular list do we give up with
:class:`RecommendationsUnavailable` (the API answers 503 with the reason).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from reelstream.serving.catalog import MovieCatalog

__all__ = [
    "RecommendationReader",
    "RecommendationsUnavailable",
    "ServedItem",
    "ServedRecommendations",
]

Source = Literal["personal", "popular"]


class RecommendationsUnavailable(Exception):
    """Neither Redis nor the PostgreSQL fallback could produce a list."""


@dataclass(frozen=True, slots=True)
class ServedItem:
    movie_id: int
    title: str | None
    genres: list[str]
    score: float


@dataclass(frozen=True, slots=True)
class ServedRecommendations:
    user_id: int | None
    source: Source
    origin: Literal["redis", "postgres", "none"]
    items: list[ServedItem]
    model_version: str | None = None
    updated_at: datetime | None = None
    last_event_id: str | None = None
    last_event_at: datetime | None = None
    reason: str | None = None


def _pairs(recs: Any) -> tuple[list[tuple[int, float]], Any]:
    """(movie_id, score) pairs and the metadata carrier from what the cache returned.

    The cache answers either a ``UserRecommendations``-like object (``.items``) or a plain
    sequence of ``Recommendation`` / ``(movie_id, score)``.
    """
    if recs is None:
        return [], None
    items = getattr(recs, "items", recs)
    out: list[tuple[int, float]] = []
    for item in items:
        if isinstance(item, tuple | list):
            out.append((int(item[0]), float(item[1])))
        else:
            out.append((int(item.movie_id), float(item.score)))
    return out, (recs if hasattr(recs, "items") else None)


class RecommendationReader:
    def __init__(
        self,
        cache: Any,
        catalog: MovieCatalog,
        *,
        popular_from_store: Callable[[int], Sequence[tuple[int, float]]] | None = None,
        popular_refresh_s: float = 30.0,
    ) -> None:
        self.cache = cache
        self.catalog = catalog
        self._popular_from_store = popular_from_store
        self._popular_refresh_s = popular_refresh_s
        self._store_popular: list[tuple[int, float]] = []
        self._store_popular_n = 0
        self._store_popular_at = float("-inf")
        self._lock = threading.Lock()

    # -- public ------------------------------------------------------------------------------
    def for_user(self, user_id: int, n: int) -> ServedRecommendations:
        try:
            recs = self.cache.get_user_recommendations(user_id)
        except Exception as exc:  # redis ConnectionError / TimeoutError: Redis is down
            return self._popular(
                n, user_id, redis_error=exc, reason=f"recommendation cache unavailable ({exc})"
            )
        if recs is None or not recs.items:
            return self._popular(n, user_id, reason="no personal recommendations cached yet")
        pairs, meta = _pairs(recs)
        return self._served(user_id, "personal", "redis", pairs[:n], meta)

    def popular(self, n: int) -> ServedRecommendations:
        return self._popular(n, None, reason=None)

    def similar(self, movie_id: int, n: int) -> list[ServedItem]:
        """Movies similar to ``movie_id`` from the cache (empty when none are cached)."""
        try:
            similar = self.cache.get_similar(movie_id, n)
        except Exception as exc:
            raise RecommendationsUnavailable(f"recommendation cache unavailable ({exc})") from exc
        pairs, _ = _pairs(similar)
        return self._enrich(pairs[:n])

    # -- internals ----------------------------------------------------------------------------
    def _popular(
        self, n: int, user_id: int | None, *, reason: str | None, redis_error: Exception | None = None
    ) -> ServedRecommendations:
        if redis_error is None:
            try:
                popular = self.cache.get_popular(n)
            except Exception as exc:
                redis_error = exc
                reason = reason or f"recommendation cache unavailable ({exc})"
            else:
                pairs, meta = _pairs(popular)
                if pairs:
                    return self._served(user_id, "popular", "redis", pairs[:n], meta, reason)
        pairs = self._popular_from_postgres(n, redis_error)
        origin = "postgres" if pairs else "none"
        return self._served(user_id, "popular", origin, pairs, None, reason)

    def _popular_from_postgres(self, n: int, redis_error: Exception | None) -> list[tuple[int, float]]:
        if self._popular_from_store is None:
            if redis_error is not None:
                raise RecommendationsUnavailable(
                    f"recommendation cache unavailable ({redis_error}) and no fallback configured"
                ) from redis_error
            return []
        now = time.monotonic()
        if self._store_popular_n < n or now - self._store_popular_at >= self._popular_refresh_s:
            with self._lock:
                if self._store_popular_n < n or now - self._store_popular_at >= self._popular_refresh_s:
                    try:
                        fetched = list(self._popular_from_store(max(n, 100)))
                    except Exception as exc:
                        if redis_error is not None:
                            raise RecommendationsUnavailable(
                                f"recommendation cache unavailable ({redis_error}) and "
                                f"PostgreSQL fallback failed ({exc})"
                            ) from exc
                        return []
                    self._store_popular = [(int(m), float(s)) for m, s in fetched]
                    self._store_popular_n = max(n, 100)
                    self._store_popular_at = now
        return self._store_popular[:n]

    def _enrich(self, pairs: list[tuple[int, float]]) -> list[ServedItem]:
        infos = self.catalog.lookup(movie_id for movie_id, _ in pairs)
        return [
            ServedItem(movie_id, infos[movie_id].title, infos[movie_id].genres, score)
            for movie_id, score in pairs
        ]

    def _served(
        self,
        user_id: int | None,
        source: Source,
        origin: Literal["redis", "postgres", "none"],
        pairs: list[tuple[int, float]],
        meta: Any,
        reason: str | None = None,
    ) -> ServedRecommendations:
        last_event_id = getattr(meta, "last_event_id", None)
        return ServedRecommendations(
            user_id=user_id,
            source=source,
            origin=origin,
            items=self._enrich(pairs),
            model_version=getattr(meta, "model_version", None),
            updated_at=getattr(meta, "updated_at", None),
            last_event_id=str(last_event_id) if last_event_id is not None else None,
            last_event_at=getattr(meta, "last_event_at", None),
            reason=reason,
        )
