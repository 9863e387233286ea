"""Catalogue browsing for people: title search, genres, a movie's rating figures, all-time
popular. Plain SQL on a borrowed :class:`~reelstream.store.EventStore` connection (the API
runs these in its thread pool, one pooled store per request).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["MovieRow", "MovieStats", "search_movies", "list_genres", "movie_stats", "all_time_popular"]


@dataclass(frozen=True, slots=True)
class MovieRow:
    movie_id: int
    title: str
    genres: list[str]
    year: int | None


@dataclass(frozen=True, slots=True)
class MovieStats:
    movie_id: int
    ratings_count: int
    average_rating: float | None
    last_rated_at: datetime | None


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_movies(
    store: Any,
    *,
    q: str | None = None,
    genre: str | None = None,
    ids: Sequence[int] | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[int, list[MovieRow]]:
    """``(total matches, one page)``: titles containing ``q`` (case-insensitive), titles that
    start with it first, then alphabetical; ``genre`` must be one of the movie's genres."""
    where, params = ["TRUE"], []  # type: ignore[var-annotated]
    if q:
        where.append("title ILIKE %s")
        params.append(_like_pattern(q.strip()))
    if genre:
        where.append("%s = ANY(genres)")
        params.append(genre)
    if ids is not None:
        where.append("movie_id = ANY(%s)")
        params.append(list(ids))
    condition = " AND ".join(where)
    conn = store.connection
    total = conn.execute(f"SELECT count(*) FROM movies WHERE {condition}", params).fetchone()[0]
    prefix = f"{q.strip()}%" if q else "%"
    rows = conn.execute(
        f"SELECT movie_id, title, genres, year FROM movies WHERE {condition} "
        "ORDER BY title ILIKE %s DESC, title, movie_id LIMIT %s OFFSET %s",
        [*params, prefix, limit, offset],
    ).fetchall()
    return int(total), [MovieRow(int(m), t, list(g or []), y) for m, t, g, y in rows]


def list_genres(store: Any) -> list[str]:
    rows = store.connection.execute(
        "SELECT DISTINCT unnest(genres) AS g FROM movies ORDER BY g"
    ).fetchall()
    return [g for (g,) in rows if g and g != "(no genres listed)"]


def movie_stats(store: Any, movie_id: int) -> MovieStats:
    count, mean, last = store.connection.execute(
        "SELECT count(*), avg(rating), max(rated_at) FROM ratings WHERE movie_id = %s",
        (movie_id,),
    ).fetchone()
    return MovieStats(movie_id, int(count), None if mean is None else round(float(mean), 3), last)


def all_time_popular(store: Any, n: int) -> list[tuple[int, int]]:
    """Most-rated movies of the whole event store: ``(movie_id, rating count)``."""
    rows = store.connection.execute(
        "SELECT movie_id, count(*) AS c FROM ratings GROUP BY movie_id "
        "ORDER BY c DESC, movie_id LIMIT %s",
        (n,),
    ).fetchall()
    return [(int(m), int(c)) for m, c in rows]
