"""Read a user's recommendations for serving, with the fallbacks users expect.

Hot path (a user with a cache entry): ONE Redis ``GET`` on an asyncio client, one orjson parse
and the items joined from their pre-encoded JSON in
:class:`~reelstream.catalog.MovieCatalog` — no thread hop (sync clients in
FastAPI's thread pool would queue every hand-off between the event loop and the worker
threads for the GIL).

The default page (``n`` = :data:`DEFAULT_N`) is cheaper still: the worker writes it ready to
serve (:class:`~reelstream.recommendation_format.PageRenderer`, the same response body as
below), and
:meth:`RecommendationReader.response_for_user` returns those bytes as they are. When a list
is written without its page (a movie the worker's catalogue did not know), the page is
deleted with it, so a page is never older than its list; a missing page just means the path
above.

Every response says ``stale: true`` when its list's ``updated_at`` is older than
``stale_after_s`` (``REELSTREAM_STALE_AFTER_S``), like a feature store's max age. A stored
page is written with ``"stale":false``; the reader reads its ``updated_at`` and flips the flag
in the bytes when due, so the page is still served without being parsed.

The values are the ones :class:`reelstream.cache.RecommendationCache` writes (one orjson blob
per key, layout in its module docstring); key names come from that class too. The API tests
write through ``RecommendationCache.put_*`` and read back over HTTP, which keeps the two in
step.

Fallbacks, every one answered with ``source="popular"`` and a ``reason``:

1. no entry for the user (new user, expired, or Redis was flushed) -> popular list from Redis;
2. Redis has no popular list either, or Redis itself is unreachable -> popular movies by rating
   count from PostgreSQL, computed at most every ``popular_refresh_s`` and kept in process;
3. nothing anywhere -> an empty popular list (still 200).

Only when Redis is unreachable *and* PostgreSQL cannot give a popular list do we give up with
:class:`RecommendationsUnavailable` (the API answers 503 with the reason).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import anyio.to_thread
import orjson

from reelstream.catalog import MovieCatalog
from reelstream.recommendation_format import (
    DEFAULT_N,
    Because,
    join_items,
    ranked_because,
    ranked_list,
    response_body,
)
from reelstream.serving.incidents import log_dependency_failure
from reelstream.serving.staleness import Staleness

__all__ = [
    "DEFAULT_N",
    "RecommendationReader",
    "RecommendationsUnavailable",
    "ServedRecommendations",
]

Source = Literal["personal", "popular"]
Origin = Literal["redis", "postgres", "none"]


_EMPTY: tuple[list[int], list[float]] = ([], [])

_CACHE_DOWN = "recommendation cache unavailable"


class RecommendationsUnavailable(Exception):
    """Neither Redis nor the PostgreSQL fallback could produce a list."""


@dataclass(slots=True)  # not frozen: a frozen dataclass' __init__ costs more (once per request)
class ServedRecommendations:
    user_id: int | None
    source: Source
    origin: Origin
    items: orjson.Fragment  # the JSON array of response items, ready to embed
    model_version: str | None = None
    updated_at: str | None = None  # ISO-8601 as stored; the response model parses it
    last_event_id: str | None = None
    last_event_at: str | None = None
    reason: str | None = None
    stale: bool = False  # updated_at older than the reader's stale_after_s

    @classmethod
    def personal(
        cls, user_id: int, data: dict[str, Any], items: orjson.Fragment
    ) -> ServedRecommendations:
        """A user's cached list (``data``: the decoded Redis value) with its rendered items."""
        return cls(
            user_id=user_id,
            source="personal",
            origin="redis",
            items=items,
            model_version=data.get("model_version"),
            updated_at=data.get("updated_at"),
            last_event_id=data.get("last_event_id"),
            last_event_at=data.get("last_event_at"),
        )

    def to_json(self) -> bytes:
        """The response body (:func:`reelstream.recommendation_format.response_body`)."""
        return response_body(
            self.user_id,
            self.source,
            self.origin,
            self.reason,
            self.model_version,
            self.updated_at,
            self.stale,
            self.last_event_id,
            self.last_event_at,
            self.items,
        )


class RecommendationReader:
    """Async reads of the recommendation cache.

    ``redis`` is a ``redis.asyncio.Redis``; ``keys`` anything with ``user_key(user_id)``,
    ``popular_key()`` and ``similar_key(movie_id)`` (a ``RecommendationCache``).
    """

    def __init__(
        self,
        redis: Any,
        keys: Any,
        catalog: MovieCatalog,
        *,
        popular_from_store: Callable[[int], Sequence[tuple[int, float]]] | None = None,
        popular_refresh_s: float = 30.0,
        stale_after_s: float = 86_400.0,
        new_movie_slots: int = 0,
        new_movie_window_s: float = 0.0,
    ) -> None:
        self.redis = redis
        self.staleness = Staleness(stale_after_s)
        self.keys = keys
        self.catalog = catalog
        self._popular_from_store = popular_from_store
        self._popular_refresh_s = popular_refresh_s
        self._store_popular: list[tuple[int, float]] = []
        self._store_popular_n = 0
        self._store_popular_at = float("-inf")
        self._store_lock = anyio.Lock()
        self.new_movie_slots = new_movie_slots
        self.new_movie_window_s = new_movie_window_s

    # -- public ------------------------------------------------------------------------------
    async def for_user(self, user_id: int, n: int) -> ServedRecommendations:
        try:
            raw = await self.redis.get(self.keys.user_key(user_id))
        except Exception as exc:  # redis ConnectionError / TimeoutError: Redis is down
            return await self._unavailable(n, user_id, exc)
        data = orjson.loads(raw) if raw is not None else None
        ids, scores = ranked_list(data, n) if data else _EMPTY
        if not ids:
            return await self._popular(n, user_id, reason="no personal recommendations cached yet")
        items = await self._items(ids, scores, ranked_because(data, n))
        served = ServedRecommendations.personal(user_id, data, items)  # type: ignore[arg-type]
        served.stale = self.staleness.of(served.updated_at)
        return served

    async def response_for_user(self, user_id: int, n: int) -> tuple[bytes, Source, Origin]:
        """The response body for the user's top-``n``, with its source and origin (for the
        metrics): for the default ``n`` the page the worker stored (module docstring), as
        is; otherwise, or when there is no page, :meth:`for_user` rendered."""
        if n == DEFAULT_N:
            try:
                page = await self.redis.get(self.keys.page_key(user_id))
            except Exception as exc:  # Redis is down: straight to the fallback, not a 2nd try
                served = await self._unavailable(n, user_id, exc)
                return served.to_json(), served.source, served.origin
            if page is not None and (page := self.staleness.flag_page(page)) is not None:
                return page, "personal", "redis"
        served = await self.for_user(user_id, n)
        return served.to_json(), served.source, served.origin

    async def popular(self, n: int) -> ServedRecommendations:
        return await self._popular(n, None, reason=None)

    async def similar(self, movie_id: int, n: int) -> orjson.Fragment:
        """Movies similar to ``movie_id`` from the cache, as a JSON array of response items
        (empty when none are cached)."""
        try:
            raw = await self.redis.get(self.keys.similar_key(movie_id))
        except Exception as exc:
            log_dependency_failure(_CACHE_DOWN, exc)
            raise RecommendationsUnavailable(_CACHE_DOWN) from exc
        ids, scores = ranked_list(orjson.loads(raw), n) if raw is not None else _EMPTY
        return await self._items(ids, scores)

    # -- internals ----------------------------------------------------------------------------
    async def _unavailable(self, n: int, user_id: int, exc: Exception) -> ServedRecommendations:
        log_dependency_failure(_CACHE_DOWN, exc)
        return await self._popular(n, user_id, redis_error=exc, reason=_CACHE_DOWN)

    async def _popular(
        self, n: int, user_id: int | None, *, reason: str | None, redis_error: Exception | None = None
    ) -> ServedRecommendations:
        if redis_error is None:
            try:
                raw = await self.redis.get(self.keys.popular_key())
            except Exception as exc:
                log_dependency_failure(_CACHE_DOWN, exc)
                redis_error = exc
                reason = reason or _CACHE_DOWN
            else:
                data = orjson.loads(raw) if raw is not None else None
                ids, scores = ranked_list(data, n) if data else _EMPTY
                ids, scores = await self._new_movies_first(ids, scores, n)
                if ids:
                    return ServedRecommendations(
                        user_id=user_id,
                        source="popular",
                        origin="redis",
                        items=await self._items(ids, scores),
                        model_version=(data or {}).get("model_version"),
                        updated_at=(data or {}).get("updated_at"),
                        reason=reason,
                        stale=self.staleness.of((data or {}).get("updated_at")),
                    )
        pairs = await self._popular_from_postgres(n, redis_error)
        return ServedRecommendations(
            user_id=user_id,
            source="popular",
            origin="postgres" if pairs else "none",
            items=await self._items([m for m, _ in pairs], [s for _, s in pairs]),
            reason=reason,
        )

    async def _popular_from_postgres(
        self, n: int, redis_error: Exception | None
    ) -> list[tuple[int, float]]:
        if self._popular_from_store is None:
            if redis_error is not None:
                raise RecommendationsUnavailable(
                    f"{_CACHE_DOWN} and no fallback configured"
                ) from redis_error
            return []
        if self._stale(n):
            async with self._store_lock:  # one refresh at a time, however many requests wait
                if self._stale(n):
                    want = max(n, 100)
                    try:
                        fetched = await anyio.to_thread.run_sync(self._popular_from_store, want)
                    except Exception as exc:
                        log_dependency_failure("popular list from PostgreSQL failed", exc)
                        if redis_error is not None:
                            raise RecommendationsUnavailable(
                                f"{_CACHE_DOWN} and the PostgreSQL fallback failed"
                            ) from exc
                        return []
                    self._store_popular = [(int(m), float(s)) for m, s in fetched]
                    self._store_popular_n = want
                    self._store_popular_at = time.monotonic()
        return self._store_popular[:n]

    async def _new_movies_first(
        self, ids: Sequence[int], scores: Sequence[float], n: int
    ) -> tuple[Sequence[int], Sequence[float]]:
        """Movies added to the catalogue lately ahead of the popular ones
        (:mod:`reelstream.new_movies`)."""
        if not self.new_movie_slots:
            return ids, scores
        from reelstream.new_movies import new_movies_key, newest, put_first

        raw = await self.redis.get(new_movies_key(self.keys.prefix))
        first = newest(raw, self.new_movie_slots, self.new_movie_window_s)
        return put_first(first, ids, scores, n) if first else (ids, scores)

    def _stale(self, n: int) -> bool:
        return (
            self._store_popular_n < n
            or time.monotonic() - self._store_popular_at >= self._popular_refresh_s
        )

    async def _items(
        self, ids: Sequence[int], scores: Sequence[float], because: list[Because] | None = None
    ) -> orjson.Fragment:
        """Movie ids and their scores as the JSON array of response items, titles and genres
        from the catalogue (``title: null`` for a movie it does not know), with each item's
        explanation when the list has them."""
        heads, missing = self.catalog.item_heads(ids)
        if missing:  # only the first time these movies are served: one query, in a thread
            await anyio.to_thread.run_sync(self.catalog.fetch, missing)
            heads, _ = self.catalog.item_heads(ids)
        return join_items(heads, scores, because)
