"""GET /movies/{id}, /movies/{id}/similar and /popular."""

from __future__ import annotations

from typing import Any

import pytest
from api_testing import random_id
from fastapi.testclient import TestClient

from reelstream.cache import Recommendation, RecommendationCache

pytestmark = pytest.mark.integration


def test_movie(client: TestClient, movies: dict[int, Any]) -> None:
    movie_id, movie = next(iter(movies.items()))
    response = client.get(f"/movies/{movie_id}")
    assert response.status_code == 200
    assert response.json() == {
        "movie_id": movie_id, "title": movie.title, "genres": list(movie.genres), "year": 2001,
    }


def test_unknown_movie_is_404(client: TestClient) -> None:
    movie_id = random_id()
    for path in (f"/movies/{movie_id}", f"/movies/{movie_id}/similar"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json() == {"detail": f"Movie {movie_id} not found"}


@pytest.mark.parametrize(
    "path",
    [
        "/movies/0", "/movies/abc", "/movies/1/similar?n=0", "/popular?n=0",
        "/movies?q=%00", "/movies?q=a%00b", "/movies?genre=%00",  # PostgreSQL text holds no NUL
    ],
)
def test_bad_parameters_are_422(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 422


def test_similar(client: TestClient, cache: RecommendationCache, movies: dict[int, Any]) -> None:
    a, b, c = movies
    assert client.get(f"/movies/{a}/similar").json() == {"movie_id": a, "items": []}
    cache.put_similar({a: [Recommendation(b, 0.9), Recommendation(c, 0.5)]})
    body = client.get(f"/movies/{a}/similar", params={"n": 1}).json()
    assert body["items"] == [
        {"movie_id": b, "title": movies[b].title, "genres": list(movies[b].genres), "score": 0.9}
    ]


def test_popular(client: TestClient, cache: RecommendationCache, movies: dict[int, Any]) -> None:
    ids = list(movies)
    cache.put_popular([Recommendation(m, 100.0 - i) for i, m in enumerate(ids)], "pop-v")
    body = client.get("/popular", params={"n": 3}).json()
    assert body["source"] == "popular" and body["model_version"] == "pop-v"
    assert [i["movie_id"] for i in body["items"]] == ids
    assert body["items"][0]["title"] == movies[ids[0]].title
