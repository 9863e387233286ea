"""The stored recommendation format: a user's list and their default page.

The worker writes both (through :class:`reelstream.cache.RecommendationCache`) and the API
reads both, so this module is the one place that says what they look like; it knows nothing of
Redis, Kafka or HTTP.

A **list** is one orjson blob: ``{"user_id", "movie_ids": [...], "scores": [...],
"model_version", "updated_at", "last_event_id", "last_event_at", "source"}``. Ids and scores
are two flat arrays, best first (``scores[i]`` belongs to ``movie_ids[i]``): the API parses one
value per request, and two arrays parse into two objects where pairs parse into one list per
item. :func:`ranked_list` also reads the pair layout (``"items": [[movie_id, score], ...]``).

A **page** is the body of ``GET /users/{id}/recommendations`` for ``n`` = :data:`DEFAULT_N`,
exactly as the API serves it (:func:`response_body`) with ``"stale":false`` (the reader sets
the flag from the page's ``updated_at`` when it serves it), rendered from the
:class:`UserRecommendations` it belongs to (:class:`PageRenderer`); the API's fast lane sends it
as stored, which takes a parse and a join off every read.

>>> rec = UserRecommendations(7, [Recommendation(3, 4.5)], "v1", datetime(2024, 1, 1, tzinfo=UTC))
>>> ranked_list(orjson.loads(encode_user_list(rec)))
([3], [4.5])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple, Protocol
from uuid import UUID

import orjson

__all__ = [
    "DEFAULT_N",
    "PageRenderer",
    "PopularRecommendations",
    "Recommendation",
    "UserRecommendations",
    "decode_user_list",
    "encode_ranked",
    "encode_user_list",
    "item_head",
    "join_items",
    "parse_time",
    "ranked_list",
    "response_body",
]

DEFAULT_N = 10  # items on the default page of GET /users/{id}/recommendations

Source = Literal["personal", "popular"]


class Recommendation(NamedTuple):
    """One ranked movie (a tuple: the worker builds ~20 per list, per event under load)."""

    movie_id: int
    score: float


@dataclass(frozen=True, slots=True)
class UserRecommendations:
    """A user's top-N and where it came from (``last_event_*``: the freshest event included)."""

    user_id: int
    items: list[Recommendation]
    model_version: str
    updated_at: datetime
    last_event_id: UUID | None = None
    last_event_at: datetime | None = None
    source: Source = "personal"


@dataclass(frozen=True, slots=True)
class PopularRecommendations:
    """The global popular/trending list (the fallback for users without a personal list)."""

    items: list[Recommendation]
    model_version: str
    updated_at: datetime
    source: Source = field(default="popular", init=False)


# --- lists ------------------------------------------------------------------------------------
def encode_ranked(items: Sequence[Recommendation]) -> dict[str, list[Any]]:
    """The two flat arrays of a list. ``int()``/``float()`` also turn numpy scalars
    (``np.int64``, ``np.float32``) into JSON numbers."""
    return {
        "movie_ids": [int(r.movie_id) for r in items],
        "scores": [float(r.score) for r in items],
    }


def encode_user_list(rec: UserRecommendations) -> bytes:
    return orjson.dumps(
        {
            "user_id": rec.user_id,
            **encode_ranked(rec.items),
            "model_version": rec.model_version,
            "updated_at": rec.updated_at,
            "last_event_id": str(rec.last_event_id) if rec.last_event_id is not None else None,
            "last_event_at": rec.last_event_at,
            "source": rec.source,
        }
    )


def ranked_list(data: dict[str, Any], n: int | None = None) -> tuple[list[int], list[float]]:
    """The first ``n`` (all if None) movie ids and scores of a decoded list, in either layout.

    >>> ranked_list({"items": [[50, 0.5], [60, 0.25]]}, 1)
    ([50], [0.5])
    """
    ids = data.get("movie_ids")
    if ids is None:  # the pair layout
        pairs = data.get("items") or []
        ids, scores = [int(p[0]) for p in pairs], [float(p[1]) for p in pairs]
    else:
        scores = data["scores"]
    return (ids, scores) if n is None else (ids[:n], scores[:n])


def decode_user_list(raw: bytes) -> UserRecommendations:
    data = orjson.loads(raw)
    last_id = data.get("last_event_id")
    return UserRecommendations(
        user_id=int(data["user_id"]),
        items=[Recommendation(int(m), float(s)) for m, s in zip(*ranked_list(data))],
        model_version=data["model_version"],
        updated_at=parse_time(data["updated_at"]),  # type: ignore[arg-type]
        last_event_id=UUID(last_id) if last_id else None,
        last_event_at=parse_time(data.get("last_event_at")),
        source=data.get("source", "personal"),
    )


def parse_time(value: str | None) -> datetime | None:
    """A stored ISO-8601 time (UTC when it carries no offset)."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- pages ------------------------------------------------------------------------------------
def item_head(movie_id: int, title: str | None, genres: list[str]) -> bytes:
    """A response item's JSON without its score and closing brace (the score follows).

    >>> item_head(1, "Toy Story (1995)", ["Comedy"])
    b'{"movie_id":1,"title":"Toy Story (1995)","genres":["Comedy"],"score":'
    """
    head = orjson.dumps({"movie_id": movie_id, "title": title, "genres": genres})
    return head[:-1] + b',"score":'


def join_items(heads: Sequence[bytes], scores: Sequence[float]) -> orjson.Fragment:
    """The JSON array of response items from their pre-encoded heads (:func:`item_head`) and
    scores, in one ``bytes.join``: the API runs this once per request, and building the items
    as dicts cost more than the Redis round trip.

    >>> orjson.dumps(join_items([item_head(1, None, [])], [0.5]))
    b'[{"movie_id":1,"title":null,"genres":[],"score":0.5}]'
    """
    if not heads:
        return orjson.Fragment(b"[]")
    parts = [b"},"] * (3 * len(heads))  # head, score, "}," per item
    parts[0::3] = heads
    parts[1::3] = orjson.dumps(scores)[1:-1].split(b",")  # a JSON number has no comma
    parts[-1] = b"}]"
    return orjson.Fragment(b"[" + b"".join(parts))


def response_body(
    user_id: int | None,
    source: str,
    origin: str,
    reason: str | None,
    model_version: str | None,
    updated_at: str | datetime | None,
    stale: bool,
    last_event_id: str | None,
    last_event_at: str | datetime | None,
    items: orjson.Fragment,
) -> bytes:
    """The recommendations response body (fields of ``api.bodies.Recommendations``).

    Built from a dict: orjson serialises a slots dataclass several times slower than the same
    data as a dict, and the API builds one per request it renders.
    """
    return orjson.dumps(
        {
            "user_id": user_id,
            "source": source,
            "origin": origin,
            "reason": reason,
            "model_version": model_version,
            "updated_at": updated_at,
            "stale": stale,
            "last_event_id": last_event_id,
            "last_event_at": last_event_at,
            "items": items,
        }
    )


class _ItemHeads(Protocol):
    def cached(self, ids: Sequence[int]) -> tuple[dict[int, Any], list[int]]: ...
    def fetch(self, ids: list[int]) -> dict[int, Any]: ...
    def known_heads(self, ids: Sequence[int]) -> list[bytes] | None: ...


class PageRenderer:
    """``render(rec)``: the default page of a user's list, or None when a movie in it is not in
    the catalogue (:class:`reelstream.catalog.MovieCatalog`) yet; the writer then drops the
    page, and the API renders that list itself and fetches the title.

    It never queries PostgreSQL: the writer keeps the catalogue filled (:meth:`prefetch`)
    where a database round trip is already being paid.
    """

    def __init__(self, catalog: _ItemHeads, n: int = DEFAULT_N) -> None:
        self.catalog = catalog
        self.n = n

    def prefetch(self, movie_ids: set[int]) -> None:
        """Load the movies the catalogue does not know yet (blocking, one query)."""
        _, missing = self.catalog.cached(movie_ids)
        if missing:
            self.catalog.fetch(missing)

    def render(self, rec: UserRecommendations) -> bytes | None:
        top = rec.items[: self.n]
        heads = self.catalog.known_heads([int(r.movie_id) for r in top]) if top else None
        if heads is None:
            return None
        return response_body(
            rec.user_id,
            "personal",
            "redis",
            None,
            rec.model_version,
            rec.updated_at,
            False,  # the reader flips it when the page outlives its maximum age
            str(rec.last_event_id) if rec.last_event_id is not None else None,
            rec.last_event_at,
            join_items(heads, [float(r.score) for r in top]),
        )
