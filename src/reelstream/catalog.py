"""An in-process cache of movie titles and genres, so serving a recommendation list costs no
database round trip once the movies in it were seen.

Movies rarely change, so entries never expire; ids PostgreSQL does not know are remembered as
unknown for ``negative_ttl_s`` (a catalogue load may add them later). When PostgreSQL is
unreachable, lookups answer with what is cached (unknown titles are ``None``) and do not retry
the database for ``retry_after_s``, so an outage cannot slow the hot path down.

Each cached movie also keeps its response item pre-encoded up to the score
(``{"movie_id":1,"title":"Toy Story (1995)","genres":[...],"score":``): a served list is then
joined from bytes instead of building and serialising ten dicts per request.

The worker (rendering the pages it stores) and the API (rendering the others) share it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from reelstream.recommendation_format import item_head

__all__ = ["MovieCatalog", "MovieInfo", "item_head", "to_movie_info"]


@dataclass(frozen=True, slots=True)
class MovieInfo:
    movie_id: int
    title: str | None
    genres: list[str] = field(default_factory=list)
    known: bool = True


class _MovieSource(Protocol):
    def get_movies(self, ids: Iterable[int]) -> dict[int, Any]: ...


def _genres(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [g for g in value.split("|") if g and g != "(no genres listed)"]
    return [str(g) for g in value]


def to_movie_info(movie: Any) -> MovieInfo:
    """Convert the store's movie record (``reelstream.store.Movie``) to a :class:`MovieInfo`."""
    return MovieInfo(int(movie.movie_id), movie.title, _genres(getattr(movie, "genres", None)))


class MovieCatalog:
    def __init__(
        self,
        store: _MovieSource | None,
        *,
        max_entries: int = 200_000,
        negative_ttl_s: float = 60.0,
        retry_after_s: float = 5.0,
    ) -> None:
        self._store = store
        self._known: dict[int, MovieInfo] = {}
        self._heads: dict[int, bytes] = {}  # movie id -> item_head(), for every known movie
        self._unknown: dict[int, float] = {}  # movie id -> monotonic time it was found missing
        self._max_entries = max_entries
        self._negative_ttl_s = negative_ttl_s
        self._retry_after_s = retry_after_s
        self._failed_at = float("-inf")
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._known)

    def lookup(self, ids: Iterable[int]) -> dict[int, MovieInfo]:
        """Title and genres for each id (``title=None, known=False`` when not found).

        Blocking when some ids are not cached (one PostgreSQL query); async callers use
        :meth:`cached` and run :meth:`fetch` in a thread only for what is missing.
        """
        found, missing = self.cached(ids)
        if missing:
            found.update(self.fetch(missing))
        return self.complete(ids, found)

    def cached(self, ids: Iterable[int]) -> tuple[dict[int, MovieInfo], list[int]]:
        """What is in memory, and the ids worth asking PostgreSQL about. Never blocks."""
        known = self._known
        found: dict[int, MovieInfo] = {}
        missing: list[int] = []
        now = time.monotonic()
        for movie_id in ids:
            info = known.get(movie_id)
            if info is not None:
                found[movie_id] = info
            elif now - self._unknown.get(movie_id, float("-inf")) >= self._negative_ttl_s:
                missing.append(movie_id)
        return found, missing

    def item_heads(self, ids: Sequence[int]) -> tuple[list[bytes], list[int]]:
        """:func:`item_head` of each id (``title: null`` where not cached), and the ids worth
        asking PostgreSQL about. Never blocks."""
        heads = list(map(self._heads.get, ids))
        if None not in heads:
            return heads, []  # type: ignore[return-value]
        missing = self.cached(m for m, head in zip(ids, heads) if head is None)[1]
        return [head or item_head(m, None, []) for m, head in zip(ids, heads)], missing

    def known_heads(self, ids: Sequence[int]) -> list[bytes] | None:
        """:func:`item_head` of each id if the catalogue knows every one, else None."""
        heads = list(map(self._heads.get, ids))
        return None if None in heads else heads  # type: ignore[return-value]

    @staticmethod
    def complete(ids: Iterable[int], found: dict[int, MovieInfo]) -> dict[int, MovieInfo]:
        return {
            movie_id: found.get(movie_id) or MovieInfo(movie_id, None, [], known=False)
            for movie_id in ids
        }

    def fetch(self, ids: list[int]) -> dict[int, MovieInfo]:
        """Load ``ids`` from PostgreSQL into the cache (blocking); return those found."""
        return self._fetch(ids, time.monotonic())

    def _fetch(self, ids: list[int], now: float) -> dict[int, MovieInfo]:
        if self._store is None or now - self._failed_at < self._retry_after_s:
            return {}
        try:
            movies = self._store.get_movies(ids)
        except Exception:  # PostgreSQL down: serve without titles rather than fail
            self._failed_at = now
            return {}
        fetched = {int(mid): to_movie_info(m) for mid, m in movies.items()}
        with self._lock:
            if len(self._known) + len(fetched) > self._max_entries:
                self._known.clear()  # crude bound; a real catalogue fits comfortably
                self._heads.clear()
            self._remember(fetched.values())
            for movie_id in ids:
                if movie_id not in fetched:
                    self._unknown[movie_id] = now
                else:
                    self._unknown.pop(movie_id, None)
        return fetched

    def put(self, infos: Iterable[MovieInfo]) -> None:
        """Warm the cache (e.g. with a whole catalogue at start-up)."""
        with self._lock:
            self._remember(infos)

    def _remember(self, infos: Iterable[MovieInfo]) -> None:
        for info in infos:
            self._known[info.movie_id] = info
            self._heads[info.movie_id] = item_head(info.movie_id, info.title, info.genres)
