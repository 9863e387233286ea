"""Served lists are joined from pre-encoded item heads: the bytes must be the JSON that
serialising the items as dicts gives, for every title, genre list and score."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import orjson
import pytest

from reelstream.catalog import MovieCatalog, MovieInfo
from reelstream.serving.recommendations import RecommendationReader

MOVIES = [
    MovieInfo(1, "Toy Story (1995)", ["Adventure", "Animation"]),
    MovieInfo(2, 'Quotes "and" \\backslashes\\, commas, [brackets]', []),
    MovieInfo(3, "Amélie (Le fabuleux destin d'Amélie Poulain) (2001) 🎬", ["Comedy", "Romance"]),
]


class _Movies:
    """A movie source that counts its queries (the catalogue's PostgreSQL stand-in)."""

    def __init__(self, movies: Iterable[MovieInfo]) -> None:
        self.movies = {m.movie_id: m for m in movies}
        self.queries: list[list[int]] = []

    def get_movies(self, ids: Iterable[int]) -> dict[int, Any]:
        ids = list(ids)
        self.queries.append(ids)
        return {i: self.movies[i] for i in ids if i in self.movies}


def _expected(pairs: list[tuple[int, float]], known: dict[int, MovieInfo]) -> list[dict[str, Any]]:
    out = []
    for movie_id, score in pairs:
        info = known.get(movie_id)
        title, genres = (info.title, info.genres) if info else (None, [])
        out.append({"movie_id": movie_id, "title": title, "genres": genres, "score": score})
    return out


def _render(reader: RecommendationReader, pairs: list[tuple[int, float]]) -> bytes:
    ids, scores = [m for m, _ in pairs], [s for _, s in pairs]
    return orjson.dumps(asyncio.run(reader._items(ids, scores)))


@pytest.mark.parametrize(
    "pairs",
    [
        [],
        [(1, 4.5)],
        [(1, 4.5), (2, 0.1), (3, -1.25)],
        [(3, 1e-05), (1, 12345678.9), (2, 3.0), (1, 0.0)],  # exponent, large, whole, repeat
        [(1, 2.5), (999, 1.0), (3, 0.333)],  # 999: not in the catalogue
    ],
)
def test_joined_items_are_the_items_json(pairs: list[tuple[int, float]]) -> None:
    catalog = MovieCatalog(_Movies(MOVIES))
    reader = RecommendationReader(None, None, catalog)

    rendered = _render(reader, pairs)

    assert orjson.loads(rendered) == _expected(pairs, {m.movie_id: m for m in MOVIES})
    # byte for byte what orjson writes for the dicts (the fast lane and FastAPI agree)
    assert rendered == orjson.dumps(_expected(pairs, {m.movie_id: m for m in MOVIES}))


def test_movies_are_fetched_once_then_served_from_memory() -> None:
    source = _Movies(MOVIES)
    catalog = MovieCatalog(source)
    reader = RecommendationReader(None, None, catalog)

    first = _render(reader, [(1, 1.0), (2, 2.0), (999, 3.0)])
    second = _render(reader, [(2, 2.0), (1, 1.0), (999, 3.0)])

    assert source.queries == [[1, 2, 999]]  # 999 is remembered as unknown (negative TTL)
    assert orjson.loads(first)[2]["title"] is None
    assert [i["movie_id"] for i in orjson.loads(second)] == [2, 1, 999]


def test_heads_follow_catalogue_updates() -> None:
    catalog = MovieCatalog(None)
    catalog.put([MovieInfo(7, "Old title", ["Drama"])])
    catalog.put([MovieInfo(7, "New title", ["Drama", "Crime"])])

    (head,), missing = catalog.item_heads([7])

    assert missing == []
    assert orjson.loads(head + b"1.5}") == {
        "movie_id": 7, "title": "New title", "genres": ["Drama", "Crime"], "score": 1.5
    }
