"""GET /users/{id}/recommendations (Redis, with popular fallbacks) and /users/{id}/ratings."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from api_testing import closed_port, make_client, now, random_id
from fastapi.testclient import TestClient

from api.bodies import Recommendations
from reelstream.cache import Recommendation, RecommendationCache, UserRecommendations
from reelstream.schemas import RatingEvent
from reelstream.settings import Settings

pytestmark = pytest.mark.integration


def test_recommendations_read_back_what_the_cache_holds(
    client: TestClient, cache: RecommendationCache, movies: dict[int, Any]
) -> None:
    user_id = random_id()
    ids = list(movies)
    last_event_id = uuid.uuid4()
    written = UserRecommendations(
        user_id=user_id,
        items=[Recommendation(ids[0], 4.75), Recommendation(ids[1], 4.5), Recommendation(ids[2], 3.0)],
        model_version="mf-test-1",
        updated_at=now(),
        last_event_id=last_event_id,
        last_event_at=now() - timedelta(seconds=1),
    )
    cache.put_user_recommendations([written])

    response = client.get(f"/users/{user_id}/recommendations", params={"n": 2})
    assert response.status_code == 200
    body = response.json()
    Recommendations.model_validate(body)  # the hot path serialises without pydantic
    assert body["source"] == "personal" and body["origin"] == "redis" and body["reason"] is None
    assert body["user_id"] == user_id
    assert body["model_version"] == "mf-test-1"
    assert body["last_event_id"] == str(last_event_id)
    assert body["last_event_at"] is not None and body["updated_at"] is not None
    assert body["items"] == [
        {
            "movie_id": ids[i],
            "title": movies[ids[i]].title,
            "genres": list(movies[ids[i]].genres),
            "score": score,
        }
        for i, score in [(0, 4.75), (1, 4.5)]
    ]

    # a newer list written by the worker is what the next read returns
    cache.put_user_recommendations(
        [UserRecommendations(user_id, [Recommendation(ids[2], 5.0)], "mf-test-2", now())]
    )
    body = client.get(f"/users/{user_id}/recommendations").json()
    assert body["model_version"] == "mf-test-2"
    assert [i["movie_id"] for i in body["items"]] == [ids[2]]


def test_unknown_movie_in_a_list_has_no_title(client: TestClient, cache: RecommendationCache) -> None:
    user_id, movie_id = random_id(), random_id()
    cache.put_user_recommendations(
        [UserRecommendations(user_id, [Recommendation(movie_id, 1.0)], "v", now())]
    )
    item = client.get(f"/users/{user_id}/recommendations").json()["items"][0]
    assert item == {"movie_id": movie_id, "title": None, "genres": [], "score": 1.0}


def test_missing_key_falls_back_to_popular(
    client: TestClient, cache: RecommendationCache, movies: dict[int, Any]
) -> None:
    ids = list(movies)
    cache.put_popular([Recommendation(m, float(10 - i)) for i, m in enumerate(ids)], "pop-test")
    user_id = random_id()
    cache.delete_user_recommendations(user_id)

    response = client.get(f"/users/{user_id}/recommendations", params={"n": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["source"] == "popular"
    assert body["reason"] == "no personal recommendations cached yet"
    assert body["model_version"] == "pop-test" and body["last_event_id"] is None
    assert [i["movie_id"] for i in body["items"]] == ids[:2]
    assert body["items"][0]["title"] == movies[ids[0]].title


def test_redis_flushed_still_200_popular(
    client: TestClient, cache: RecommendationCache, store: Any, movies: dict[int, Any]
) -> None:
    user_id = random_id()
    cache.put_user_recommendations(
        [UserRecommendations(user_id, [Recommendation(next(iter(movies)), 1.0)], "v", now())]
    )
    store.insert_ratings(
        [RatingEvent(user_id=user_id, movie_id=m, rating=4.0) for m in movies]
    )
    cache.client.flushdb()  # the API tests' own Redis database

    response = client.get(f"/users/{user_id}/recommendations", params={"n": 5})
    assert response.status_code == 200
    body = response.json()
    assert body["source"] == "popular"
    # no popular list in Redis either: most-rated movies from PostgreSQL (maybe cached a while)
    assert len(body["items"]) <= 5
    assert all(item["score"] >= 1 for item in body["items"])


def test_redis_down_falls_back_to_postgres_popular(api_settings: Settings, store: Any, movies: dict[int, Any]) -> None:
    store.insert_ratings([RatingEvent(user_id=random_id(), movie_id=m, rating=3.0) for m in movies])
    settings = api_settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{closed_port()}/0"})
    with make_client(settings) as client:
        response = client.get(f"/users/{random_id()}/recommendations", params={"n": 3})
        popular = client.get("/popular", params={"n": 3})
        default_n = client.get(f"/users/{random_id()}/recommendations")  # asks for a page first
        metrics = client.get("/metrics").text
    assert response.status_code == 200
    body = response.json()
    Recommendations.model_validate(body)
    assert body["source"] == "popular" and body["origin"] == "postgres"
    assert body["reason"] == "recommendation cache unavailable"  # no host or driver message
    assert 1 <= len(body["items"]) <= 3  # ratings exist, so the PostgreSQL fallback has some
    assert popular.status_code == 200 and popular.json()["items"] == body["items"]
    assert default_n.status_code == 200
    assert default_n.json()["source"] == "popular" and default_n.json()["origin"] == "postgres"
    assert default_n.json()["items"][:3] == body["items"]
    assert 'reelstream_api_recommendations_total{origin="postgres",source="popular"} 3.0' in metrics


def test_redis_and_postgres_down_is_503(api_settings: Settings) -> None:
    settings = api_settings.model_copy(
        update={
            "redis_url": f"redis://127.0.0.1:{closed_port()}/0",
            "postgres_dsn": f"postgresql://reelstream@127.0.0.1:{closed_port()}/reelstream",
        }
    )
    with make_client(settings) as client:
        response = client.get("/users/1/recommendations")
    assert response.status_code == 503
    assert response.json() == {
        "detail": "recommendation cache unavailable and the PostgreSQL fallback failed"
    }


def test_cache_hits_and_fallbacks_are_counted(client: TestClient, cache: RecommendationCache) -> None:
    user_id = random_id()
    cache.put_user_recommendations([UserRecommendations(user_id, [Recommendation(1, 1.0)], "v", now())])
    before = client.get("/metrics").text
    client.get(f"/users/{user_id}/recommendations")
    client.get(f"/users/{random_id()}/recommendations")
    after = client.get("/metrics").text

    def count(text: str, source: str) -> float:
        total = 0.0
        for line in text.splitlines():
            if line.startswith("reelstream_api_recommendations_total{") and f'source="{source}"' in line:
                total += float(line.rsplit(" ", 1)[1])
        return total

    assert count(after, "personal") == count(before, "personal") + 1
    assert count(after, "popular") == count(before, "popular") + 1
    assert 'route="/users/{user_id}/recommendations"' in after


@pytest.mark.parametrize(
    "path", ["/users/0/recommendations", "/users/x/recommendations", "/users/1/recommendations?n=0",
             "/users/1/recommendations?n=100000", "/users/1/ratings?limit=0", "/users/1/ratings?offset=-1",
             "/users/1/ratings?offset=99999999999999999999", "/users/2147483648/ratings"]
)
def test_bad_parameters_are_422(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 422


def test_user_ratings_paginated(client: TestClient, store: Any, movies: dict[int, Any]) -> None:
    user_id = random_id()
    base = now().replace(microsecond=0)
    events = [
        RatingEvent(user_id=user_id, movie_id=m, rating=1.0 + i, timestamp=base + timedelta(minutes=i))
        for i, m in enumerate(movies)
    ]
    store.insert_ratings(events)

    first = client.get(f"/users/{user_id}/ratings", params={"limit": 2}).json()
    second = client.get(f"/users/{user_id}/ratings", params={"limit": 2, "offset": 2}).json()
    assert first["count"] == second["count"] == 3
    assert (first["limit"], first["offset"], second["offset"]) == (2, 0, 2)
    newest_first = [str(e.event_id) for e in reversed(events)]
    assert [r["event_id"] for r in first["data"] + second["data"]] == newest_first
    assert first["data"][0]["rating"] == 3.0 and first["data"][0]["movie_id"] == events[-1].movie_id

    empty = client.get(f"/users/{random_id()}/ratings").json()
    assert empty["count"] == 0 and empty["data"] == []


# --- the fast lane of GET recommendations (api.fast_lane.RecommendationsLane) ---------------
@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        ("/users/42/recommendations", b"", (42, 10)),
        ("/users/42/recommendations", b"n=3", (42, 3)),
        ("/users/2147483647/recommendations", b"n=500", (2**31 - 1, 500)),
        ("/users/007/recommendations", b"n=010", (7, 10)),  # leading zeros: int() and pydantic agree
    ],
)
def test_plainly_valid_requests_take_the_fast_lane(path: str, query: bytes, expected: tuple[int, int]) -> None:
    from api.fast_lane import lane_args

    assert lane_args("GET", path, query) == expected


@pytest.mark.parametrize(
    ("path", "query", "method"),
    [
        ("/users/0/recommendations", b"", "GET"), ("/users/2147483648/recommendations", b"", "GET"),
        ("/users/-1/recommendations", b"", "GET"), ("/users/x/recommendations", b"", "GET"),
        ("/users/１２/recommendations", b"", "GET"),  # non-ASCII digits: FastAPI decides
        ("/users//recommendations", b"", "GET"), ("/users/1/2/recommendations", b"", "GET"),
        ("/users/1/recommendations/", b"", "GET"), ("/users/1/ratings", b"", "GET"),
        ("/users/1/recommendations", b"n=0", "GET"), ("/users/1/recommendations", b"n=501", "GET"),
        ("/users/1/recommendations", b"n=", "GET"), ("/users/1/recommendations", b"n=1&n=2", "GET"),
        ("/users/1/recommendations", b"m=1", "GET"), ("/users/1/recommendations", b"n=%31", "GET"),
        ("/users/1/recommendations", b"", "POST"), ("/users/1/recommendations", b"", "HEAD"),
    ],
)
def test_anything_else_goes_through_fastapi(path: str, query: bytes, method: str) -> None:
    from api.fast_lane import lane_args

    assert lane_args(method, path, query) is None


def test_fast_and_fastapi_paths_answer_the_same(
    client: TestClient, cache: RecommendationCache, movies: dict[int, Any]
) -> None:
    user_id = random_id()
    cache.put_user_recommendations(
        [UserRecommendations(user_id, [Recommendation(m, 2.5) for m in movies], "v", now(), uuid.uuid4(), now())]
    )
    fast = client.get(f"/users/{user_id}/recommendations?n=2")
    slow = client.get(f"/users/{user_id}/recommendations?n=2&unused=1")  # not plainly valid
    assert fast.status_code == slow.status_code == 200
    assert fast.content == slow.content
    assert fast.headers["content-type"] == slow.headers["content-type"] == "application/json"
    Recommendations.model_validate(fast.json())
    assert client.post(f"/users/{user_id}/recommendations").status_code == 405


def test_fast_lane_requests_are_timed(client: TestClient) -> None:
    client.get(f"/users/{random_id()}/recommendations")
    metrics = client.get("/metrics").text
    assert (
        'reelstream_api_request_duration_seconds_count{method="GET",'
        'route="/users/{user_id}/recommendations",status="200"}'
    ) in metrics


# --- default pages the worker stores ready to serve (reelstream.recommendation_format) ---------------
def _renderer(store: Any, movie_ids: set[int]) -> Any:
    from reelstream.catalog import MovieCatalog
    from reelstream.recommendation_format import PageRenderer

    renderer = PageRenderer(MovieCatalog(store))
    renderer.prefetch(movie_ids)
    return renderer


def test_a_stored_page_is_served_as_is_and_is_what_the_api_renders(
    client: TestClient, cache: RecommendationCache, store: Any, movies: dict[int, Any]
) -> None:
    user_id = random_id()
    rec = UserRecommendations(
        user_id, [Recommendation(m, 4.5 - i) for i, m in enumerate(movies)], "v2", now(),
        uuid.uuid4(), now(),
    )
    cache.put_user_recommendations([rec], _renderer(store, set(movies)).render)
    page = cache.client.get(cache.page_key(user_id))
    assert page is not None

    served = client.get(f"/users/{user_id}/recommendations")  # the default n: the page
    assert served.status_code == 200 and served.content == page

    cache.put_user_recommendations([rec])  # written without a page: the old one goes with it
    assert cache.client.get(cache.page_key(user_id)) is None
    rendered = client.get(f"/users/{user_id}/recommendations?n=10")
    assert rendered.content == page  # the API's own rendering, byte for byte
    body = Recommendations.model_validate(rendered.json())
    assert [i.title for i in body.items] == [movies[m].title for m in movies]


def test_a_page_is_never_older_than_its_list(
    client: TestClient, cache: RecommendationCache, store: Any, movies: dict[int, Any]
) -> None:
    user_id = random_id()
    ids = list(movies)
    renderer = _renderer(store, set(ids))
    first = UserRecommendations(user_id, [Recommendation(ids[0], 1.0)], "v1", now(), uuid.uuid4(), now())
    cache.put_user_recommendations([first], renderer.render)
    unknown = random_id()  # not in the catalogue: the renderer gives no page for this list
    second = UserRecommendations(
        user_id, [Recommendation(unknown, 2.0), Recommendation(ids[1], 1.5)], "v2", now(),
        uuid.uuid4(), now(),
    )
    cache.put_user_recommendations([second], renderer.render)

    assert cache.client.get(cache.page_key(user_id)) is None
    body = client.get(f"/users/{user_id}/recommendations").json()
    assert body["model_version"] == "v2"
    assert [(i["movie_id"], i["title"]) for i in body["items"]] == [
        (unknown, None), (ids[1], movies[ids[1]].title)
    ]


# --- the stale flag (REELSTREAM_STALE_AFTER_S) ----------------------------------------------
@pytest.mark.parametrize("age", [timedelta(days=2), timedelta(minutes=5)], ids=["old", "fresh"])
def test_an_old_list_is_flagged_stale_on_both_lanes(
    client: TestClient, cache: RecommendationCache, store: Any, movies: dict[int, Any],
    age: timedelta,
) -> None:
    user_id = random_id()
    rec = UserRecommendations(
        user_id, [Recommendation(m, 3.0 - i) for i, m in enumerate(movies)], "v", now() - age,
        uuid.uuid4(), now() - age,
    )
    cache.put_user_recommendations([rec], _renderer(store, set(movies)).render)
    assert b'"stale":false' in cache.client.get(cache.page_key(user_id))  # as the worker stores it

    page = client.get(f"/users/{user_id}/recommendations")  # fast lane, the stored page
    routed = client.get(f"/users/{user_id}/recommendations?n=10&unused=1")  # FastAPI, rendered
    assert page.status_code == routed.status_code == 200
    assert page.content == routed.content
    expected = age > timedelta(days=1)
    assert page.json()["stale"] is expected
    assert client.get(f"/users/{user_id}/recommendations?n=2").json()["stale"] is expected
    Recommendations.model_validate(page.json())


def test_stale_after_is_a_setting(api_settings: Settings, cache: RecommendationCache) -> None:
    user_id = random_id()
    cache.put_user_recommendations(
        [UserRecommendations(user_id, [Recommendation(1, 1.0)], "v", now() - timedelta(minutes=2))]
    )
    with make_client(api_settings.model_copy(update={"stale_after_s": 60.0})) as strict:
        assert strict.get(f"/users/{user_id}/recommendations").json()["stale"] is True


def test_a_page_stored_without_the_flag_is_rendered_with_it(
    client: TestClient, cache: RecommendationCache, store: Any, movies: dict[int, Any]
) -> None:
    user_id = random_id()
    rec = UserRecommendations(user_id, [Recommendation(m, 1.0) for m in movies], "v", now())
    cache.put_user_recommendations([rec], _renderer(store, set(movies)).render)
    page = cache.client.get(cache.page_key(user_id))
    cache.client.set(cache.page_key(user_id), page.replace(b',"stale":false', b""))  # older writer

    body = client.get(f"/users/{user_id}/recommendations")
    assert body.content == page  # rendered from the list, with the flag
    assert body.json()["stale"] is False
