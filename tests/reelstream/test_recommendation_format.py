"""The stored recommendation format: lists round-trip, and a page rendered from the list is the
API's response body for it, byte for byte."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import numpy as np
import orjson

from reelstream.catalog import MovieCatalog, MovieInfo
from reelstream.recommendation_format import (
    DEFAULT_N,
    PageRenderer,
    Recommendation,
    UserRecommendations,
    decode_user_list,
    encode_user_list,
    join_items,
    ranked_list,
)
from reelstream.serving.recommendations import ServedRecommendations


def _rec(n: int = 15, **kwargs: object) -> UserRecommendations:
    items = [Recommendation(np.int64(100 + i), np.float32(5 - i / 7)) for i in range(n)]
    return UserRecommendations(
        user_id=42,
        items=items,  # numpy scalars, as the model gives them
        model_version="champion-v3+online",
        updated_at=datetime(2026, 12, 1, 12, 0, 0, 123456, tzinfo=UTC),
        last_event_id=uuid.UUID("6b1f3c2e-8d4a-4f0e-9a57-2f1c0d9e7b31"),
        last_event_at=datetime(2026, 12, 1, 11, 59, 59, tzinfo=UTC),
        **kwargs,  # type: ignore[arg-type]
    )


def _catalog(ids: range) -> MovieCatalog:
    catalog = MovieCatalog(None)
    catalog.put(MovieInfo(m, f"Movie {m} (2001)", ["Drama", "Sci-Fi"]) for m in ids)
    return catalog


def test_a_list_round_trips() -> None:
    rec = _rec()
    back = decode_user_list(encode_user_list(rec))
    assert back.user_id == rec.user_id and back.model_version == rec.model_version
    assert [(r.movie_id, r.score) for r in back.items] == [
        (int(r.movie_id), float(r.score)) for r in rec.items
    ]
    assert (back.updated_at, back.last_event_id, back.last_event_at) == (
        rec.updated_at, rec.last_event_id, rec.last_event_at
    )


def test_the_page_is_the_api_rendering_of_the_stored_list() -> None:
    rec = _rec()
    renderer = PageRenderer(_catalog(range(100, 115)))
    page = renderer.render(rec)
    assert page is not None

    # what the API serves for that list: the stored bytes decoded, the top n joined
    data = orjson.loads(encode_user_list(rec))
    ids, scores = ranked_list(data, DEFAULT_N)
    heads = renderer.catalog.known_heads(ids)
    served = ServedRecommendations.personal(42, data, join_items(heads, scores)).to_json()
    assert page == served
    body = orjson.loads(page)
    assert [item["movie_id"] for item in body["items"]] == list(range(100, 100 + DEFAULT_N))
    assert body["items"][0]["title"] == "Movie 100 (2001)"


def test_no_page_for_a_movie_the_catalogue_does_not_know_or_an_empty_list() -> None:
    renderer = PageRenderer(_catalog(range(100, 105)))  # 105.. unknown
    assert renderer.render(_rec()) is None
    assert renderer.render(_rec(0)) is None
    assert renderer.render(_rec(5)) is not None


def test_explanations_round_trip_and_reach_the_page_as_the_api_renders_them() -> None:
    from reelstream.recommendation_format import ranked_because

    rec = _rec(3)
    explained = [r._replace(because=((7, 0.6), (9, 0.25))) for r in rec.items[:2]] + rec.items[2:]
    rec = UserRecommendations(rec.user_id, explained, rec.model_version, rec.updated_at,
                              rec.last_event_id, rec.last_event_at)
    back = decode_user_list(encode_user_list(rec))
    assert [r.because for r in back.items] == [((7, 0.6), (9, 0.25))] * 2 + [()]

    renderer = PageRenderer(_catalog(range(100, 103)))
    page = renderer.render(rec)
    data = orjson.loads(encode_user_list(rec))
    ids, scores = ranked_list(data, DEFAULT_N)
    items = join_items(renderer.catalog.known_heads(ids), scores, ranked_because(data, DEFAULT_N))
    assert page == ServedRecommendations.personal(42, data, items).to_json()
    body = orjson.loads(page)
    assert body["items"][0]["because"] == [{"movie_id": 7, "share": 0.6},
                                           {"movie_id": 9, "share": 0.25}]
    assert body["items"][2]["because"] == []


def test_a_list_without_explanations_stores_none() -> None:
    assert "because" not in orjson.loads(encode_user_list(_rec(2)))
