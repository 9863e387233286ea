"""GET /movies (search), /movies/genres, /movies/{id}/stats and /popular/all-time."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from api_testing import closed_port, make_client, random_id
from fastapi.testclient import TestClient

from reelstream.schemas import RatingEvent
from reelstream.settings import Settings
from reelstream.store import Movie

pytestmark = pytest.mark.integration


@pytest.fixture
def titled(store: Any) -> tuple[str, dict[int, Movie]]:
    """Three movies whose titles share a token no other test uses."""
    token = f"Zq{uuid.uuid4().hex[:8]}"
    made = {
        random_id(): Movie(0, f"{token} Rising", ("Comedy",), 1999),
        random_id(): Movie(0, f"The {token}", ("Horror", "Comedy"), 2005),
        random_id(): Movie(0, f"{token} Returns", ("Drama",), 2010),
    }
    made = {mid: Movie(mid, m.title, m.genres, m.year) for mid, m in made.items()}
    store.upsert_movies(made.values())
    return token, made


def test_search_by_title_prefix_first(client: TestClient, titled: tuple[str, dict[int, Movie]]) -> None:
    token, made = titled
    body = client.get("/movies", params={"q": token.lower()}).json()
    assert body["total"] == 3 and body["limit"] == 20 and body["offset"] == 0
    titles = [m["title"] for m in body["data"]]
    assert titles == [f"{token} Returns", f"{token} Rising", f"The {token}"]
    first = body["data"][0]
    assert set(first) == {"movie_id", "title", "genres", "year"} and first["year"] == 2010


def test_search_by_genre_ids_and_pages(client: TestClient, titled: tuple[str, dict[int, Movie]]) -> None:
    token, made = titled
    comedy = client.get("/movies", params={"q": token, "genre": "Comedy"}).json()
    assert {m["title"] for m in comedy["data"]} == {f"{token} Rising", f"The {token}"}
    ids = ",".join(str(m) for m in made)
    by_ids = client.get("/movies", params={"ids": ids, "limit": 2, "offset": 2}).json()
    assert by_ids["total"] == 3 and len(by_ids["data"]) == 1
    assert client.get("/movies", params={"q": "%_no-such-title_%"}).json()["total"] == 0


def test_genres(client: TestClient, titled: tuple[str, dict[int, Movie]]) -> None:
    genres = client.get("/movies/genres").json()
    assert {"Comedy", "Horror", "Drama"} <= set(genres) and genres == sorted(genres)


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 501}, {"offset": -1}, {"ids": "1,x"}, {"ids": "0"}, {"q": "x" * 201}]
)
def test_bad_search_is_422(client: TestClient, params: dict[str, Any]) -> None:
    assert client.get("/movies", params=params).status_code == 422


def test_movie_stats(client: TestClient, store: Any, titled: tuple[str, dict[int, Movie]]) -> None:
    movie_id = next(iter(titled[1]))
    assert client.get(f"/movies/{movie_id}/stats").json()["ratings_count"] == 0
    store.insert_ratings(
        [RatingEvent(user_id=random_id(), movie_id=movie_id, rating=r) for r in (4.0, 3.0)]
    )
    body = client.get(f"/movies/{movie_id}/stats").json()
    assert body["movie_id"] == movie_id and body["ratings_count"] == 2
    assert body["average_rating"] == 3.5 and body["last_rated_at"] is not None
    assert client.get(f"/movies/{random_id()}/stats").status_code == 404
    assert client.get("/movies/0/stats").status_code == 422


def test_all_time_popular(client: TestClient, store: Any, titled: tuple[str, dict[int, Movie]]) -> None:
    movie_id = next(iter(titled[1]))
    store.insert_ratings([RatingEvent(user_id=random_id(), movie_id=movie_id, rating=5.0)] * 1)
    body = client.get("/popular/all-time", params={"n": 100}).json()
    counts = [i["ratings_count"] for i in body["items"]]
    assert counts == sorted(counts, reverse=True) and 1 <= len(counts) <= 100
    assert set(body["items"][0]) == {"movie_id", "title", "genres", "ratings_count"}
    assert client.get("/popular/all-time", params={"n": 0}).status_code == 422


def test_postgres_down_is_503(api_settings: Settings) -> None:
    settings = api_settings.model_copy(
        update={"postgres_dsn": f"postgresql://reelstream@127.0.0.1:{closed_port()}/reelstream"}
    )
    with make_client(settings) as down:
        for path in ("/movies?q=a", "/movies/genres", "/movies/1/stats", "/popular/all-time"):
            response = down.get(path)
            assert response.status_code == 503, path
            assert "PostgreSQL" in response.json()["detail"]


def test_in_openapi_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/movies", "/movies/genres", "/movies/{movie_id}/stats", "/popular/all-time"):
        assert "get" in paths[path]
