"""The Redis recommendation cache: what the worker writes and the API serves from.

Key layout (``{p}`` is the key prefix, ``reelstream:`` by default). Every value is ONE
orjson blob, so every read is one ``GET`` (one round-trip, one parse):

=================================  ==========================================================
``{p}user:{user_id}:recs``         ``{"user_id", "movie_ids": [...], "scores": [...],
                                   "model_version", "updated_at", "last_event_id",
                                   "last_event_at", "source"}``; expires ``ttl_s`` after the
                                   last write (idle users drop out, memory stays bounded)
``{p}user:{user_id}:page``         the user's default page, the API's response body as it is
                                   served (written with the list, same TTL; when the writer
                                   cannot render it, deleted with the same write, so it is
                                   never older than the list)
``{p}popular``                     ``{"movie_ids": [...], "scores": [...], "model_version",
                                   "updated_at"}``; at most ``max_popular`` items, no TTL
                                   (one key, bounded, rewritten on every worker batch)
``{p}movie:{movie_id}:similar``    ``{"movie_ids": [...], "scores": [...], "updated_at"}``;
                                   at most ``max_similar`` items, expires after ``ttl_s``
=================================  ==========================================================

The values (lists and pages) are the stored recommendation format of
:mod:`reelstream.recommendation_format`; this module only stores and fetches them.

Times are ISO-8601 UTC strings. Writes of a whole batch go through one non-transactional
pipeline (one round-trip). A missing or expired key reads as ``None`` (or ``[]``), never an
error, so a flushed Redis degrades to the popular fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import redis

from reelstream.recommendation_format import (
    PopularRecommendations,
    Recommendation,
    UserRecommendations,
    decode_user_list,
    encode_ranked,
    encode_user_list,
    parse_time,
    ranked_list,
)
from reelstream.settings import Settings

__all__ = [
    "Recommendation",
    "UserRecommendations",
    "PopularRecommendations",
    "RecommendationCache",
    "DEFAULT_PREFIX",
    "ranked_list",
]

DEFAULT_PREFIX = "reelstream:"


class RecommendationCache:
    """Read and write recommendations in Redis (see the module docstring for the keys)."""

    def __init__(
        self,
        client: redis.Redis,
        ttl_s: int = 7 * 24 * 3600,
        *,
        prefix: str = DEFAULT_PREFIX,
        max_popular: int = 500,
        max_similar: int = 100,
    ) -> None:
        self.client = client
        self.ttl_s = int(ttl_s)
        self.prefix = prefix
        self.max_popular = max_popular
        self.max_similar = max_similar

    @classmethod
    def from_url(
        cls, url: str, ttl_s: int = 7 * 24 * 3600, *, timeout_s: float = 2.0, **kwargs: Any
    ) -> RecommendationCache:
        """A cache on a new client; short socket timeouts so a dead Redis fails fast."""
        client = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        return cls(client, ttl_s, **kwargs)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> RecommendationCache:
        """The cache every reelstream process shares: URL, TTL and key prefix from settings."""
        return cls.from_url(
            settings.redis_url, settings.recommendation_ttl_s, prefix=settings.redis_prefix, **kwargs
        )

    def close(self) -> None:
        self.client.close()

    def ping(self) -> bool:
        """True when Redis answers; False when it is unreachable."""
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False

    # --- keys -----------------------------------------------------------------------------
    def user_key(self, user_id: int) -> str:
        return f"{self.prefix}user:{user_id}:recs"

    def page_key(self, user_id: int) -> str:
        return f"{self.prefix}user:{user_id}:page"

    def popular_key(self) -> str:
        return f"{self.prefix}popular"

    def similar_key(self, movie_id: int) -> str:
        return f"{self.prefix}movie:{movie_id}:similar"

    # --- per user ---------------------------------------------------------------------------
    def put_user_recommendations(
        self,
        recs: Iterable[UserRecommendations],
        render_page: Callable[[UserRecommendations], bytes | None] | None = None,
    ) -> int:
        """Write many users' lists in ONE pipeline round-trip; return how many were written.

        ``render_page(rec)`` gives each list's default page
        (:class:`reelstream.recommendation_format.PageRenderer`); a list written without one
        has its old page deleted.
        """
        pipe = self.client.pipeline(transaction=False)
        count = 0
        for rec in recs:
            pipe.set(self.user_key(rec.user_id), encode_user_list(rec), ex=self.ttl_s)
            page = render_page(rec) if render_page is not None else None
            if page is None:
                pipe.delete(self.page_key(rec.user_id))
            else:
                pipe.set(self.page_key(rec.user_id), page, ex=self.ttl_s)
            count += 1
        if count:
            pipe.execute()
        return count

    def get_user_recommendations(self, user_id: int) -> UserRecommendations | None:
        """The user's cached list (one GET), or None when absent or expired."""
        raw = self.client.get(self.user_key(user_id))
        return None if raw is None else decode_user_list(raw)  # type: ignore[arg-type]

    def delete_user_recommendations(self, user_id: int) -> bool:
        return bool(self.client.delete(self.user_key(user_id), self.page_key(user_id)))

    # --- popular ----------------------------------------------------------------------------
    def put_popular(
        self,
        items: Sequence[Recommendation],
        model_version: str,
        updated_at: datetime | None = None,
    ) -> None:
        """Replace the popular list (kept to ``max_popular`` items, best first as given)."""
        payload = {
            **encode_ranked(items[: self.max_popular]),
            "model_version": model_version,
            "updated_at": updated_at or datetime.now(UTC),
        }
        self.client.set(self.popular_key(), orjson.dumps(payload))

    def get_popular(self, n: int | None = None) -> PopularRecommendations | None:
        """The first ``n`` popular items with their model version (one GET), or None."""
        raw = self.client.get(self.popular_key())
        if raw is None:
            return None
        data = orjson.loads(raw)  # type: ignore[arg-type]
        return PopularRecommendations(
            items=_recommendations(data, n),
            model_version=data["model_version"],
            updated_at=parse_time(data["updated_at"]),  # type: ignore[arg-type]
        )

    # --- similar movies ---------------------------------------------------------------------
    def put_similar(
        self, mapping: dict[int, list[Recommendation]], updated_at: datetime | None = None
    ) -> int:
        """Write several movies' similar lists in one pipeline round-trip."""
        stamp = updated_at or datetime.now(UTC)
        pipe = self.client.pipeline(transaction=False)
        for movie_id, items in mapping.items():
            payload = {**encode_ranked(items[: self.max_similar]), "updated_at": stamp}
            pipe.set(self.similar_key(movie_id), orjson.dumps(payload), ex=self.ttl_s)
        if mapping:
            pipe.execute()
        return len(mapping)

    def get_similar(self, movie_id: int, n: int | None = None) -> list[Recommendation]:
        """Up to ``n`` movies similar to ``movie_id`` (one GET); ``[]`` when none are cached."""
        raw = self.client.get(self.similar_key(movie_id))
        if raw is None:
            return []
        return _recommendations(orjson.loads(raw), n)  # type: ignore[arg-type]


def _recommendations(data: dict[str, Any], n: int | None) -> list[Recommendation]:
    return [Recommendation(int(m), float(s)) for m, s in zip(*ranked_list(data, n))]
