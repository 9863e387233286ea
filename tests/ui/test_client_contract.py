"""``ui.client`` against the real FastAPI app (in process, on the embedded stack): every call
the pages make gets the shape they read, and failures become readable ``ApiError``s."""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

import importlib.util  # noqa: E402

_API_TESTS = Path(__file__).resolve().parents[1] / "api"
sys.path.insert(0, str(_API_TESTS))
from api_testing import API_KEY, closed_port, random_id  # noqa: E402

# The API tests' fixtures (the real app over the embedded stack), reused as they are.
_spec = importlib.util.spec_from_file_location("api_test_fixtures", _API_TESTS / "conftest.py")
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)
api_settings, client, cache, store = (
    _fixtures.api_settings, _fixtures.client, _fixtures.cache, _fixtures.store
)

from reelstream.cache import Recommendation, RecommendationCache, UserRecommendations  # noqa: E402
from reelstream.store import Movie  # noqa: E402
from ui.client import ApiError, ReelstreamClient  # noqa: E402

pytestmark = pytest.mark.integration


class _Bridge(httpx.BaseTransport):
    """Sends the client's requests to the app through Starlette's test client."""

    def __init__(self, test_client: TestClient) -> None:
        self.test_client = test_client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.test_client.request(
            request.method, request.url.raw_path.decode(), headers=dict(request.headers),
            content=request.content,
        )
        return httpx.Response(response.status_code, headers=response.headers, content=response.content)


@pytest.fixture(scope="module")
def ui_client(client: TestClient) -> Iterator[ReelstreamClient]:
    ui = ReelstreamClient("http://api", API_KEY, transport=_Bridge(client))
    yield ui
    ui.close()


@pytest.fixture
def catalogue(store: Any) -> dict[int, Movie]:
    token = uuid.uuid4().hex[:8]
    made = {m: Movie(m, f"Contract {token} {m}", ("Thriller",), 2020) for m in (random_id(), random_id())}
    store.upsert_movies(made.values())
    return made


def test_reads_have_the_shapes_pages_use(ui_client: ReelstreamClient, cache: RecommendationCache,
                                        catalogue: dict[int, Movie]) -> None:
    a, b = catalogue
    user_id = random_id()
    cache.put_user_recommendations([UserRecommendations(
        user_id=user_id, items=[Recommendation(a, 4.5), Recommendation(b, 4.0)], model_version="v-test",
        updated_at=datetime.now(UTC))])
    recs = ui_client.recommendations(user_id)
    assert recs["source"] == "personal" and [i["movie_id"] for i in recs["items"]] == [a, b]
    assert {"title", "genres", "score"} <= set(recs["items"][0])
    assert ui_client.user_ratings(user_id)["count"] == 0
    found = ui_client.search_movies(ids=[a, b], limit=2)
    assert found["total"] == 2 and {m["year"] for m in found["data"]} == {2020}
    assert "Thriller" in ui_client.genres()
    assert ui_client.movie(a)["title"] == catalogue[a].title
    assert ui_client.movie_stats(a)["ratings_count"] == 0
    assert ui_client.similar(a)["items"] == []
    assert "items" in ui_client.popular(5) and "items" in ui_client.all_time_popular(5)
    assert {"workers", "recent_dead_letters", "api"} <= set(ui_client.stream_stats())


def test_post_rating_returns_the_event_id(ui_client: ReelstreamClient, catalogue: dict[int, Movie]) -> None:
    event_id = ui_client.post_rating(random_id(), next(iter(catalogue)), 4.5)
    assert uuid.UUID(event_id)


def test_errors_are_readable(ui_client: ReelstreamClient, client: TestClient) -> None:
    with pytest.raises(ApiError) as invalid:
        ui_client.post_rating(1, 1, 7.5)
    assert invalid.value.status == 422 and "HTTP 422" in str(invalid.value)
    wrong_key = ReelstreamClient("http://api", "wrong", transport=_Bridge(client))
    with pytest.raises(ApiError) as refused:
        wrong_key.post_rating(1, 1, 4.0)
    assert refused.value.status == 401 and "REELSTREAM_UI_API_KEY" in str(refused.value)
    with pytest.raises(ApiError, match="type the API key"):  # never the app's own key
        ui_client.promote("1", key="")
    with pytest.raises(ApiError) as missing:
        ui_client.movie(random_id())
    assert missing.value.status == 404 and "not found" in str(missing.value)


def test_api_down_is_a_sentence() -> None:
    down = ReelstreamClient(f"http://127.0.0.1:{closed_port()}", timeout_s=1)
    with pytest.raises(ApiError) as exc:
        down.recommendations(1)
    assert exc.value.status is None and "is not reachable" in str(exc.value)
