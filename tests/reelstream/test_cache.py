"""The recommendation-cache contract, run against every Redis backend: the embedded stack's
redis-server and the machine's own Redis (db 15). Each test writes under its own key prefix
and deletes exactly those keys afterwards (never FLUSHALL a shared Redis)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pytest
import redis

from reelstream.cache import (
    PopularRecommendations,
    Recommendation,
    RecommendationCache,
    UserRecommendations,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _url(request: pytest.FixtureRequest) -> str:
    if request.param == "embedded":
        return request.getfixturevalue("stack").redis_url
    return request.getfixturevalue("external_redis_url")  # skips when unreachable


@pytest.fixture(
    params=[
        pytest.param("embedded", marks=pytest.mark.integration),
        pytest.param("external", marks=pytest.mark.external),
    ]
)
def cache(request: pytest.FixtureRequest) -> Iterator[RecommendationCache]:
    prefix = f"reelstream-test:{uuid.uuid4().hex}:"
    c = RecommendationCache.from_url(_url(request), ttl_s=3600, prefix=prefix, max_popular=50)
    try:
        yield c
    finally:
        keys = list(c.client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            c.client.delete(*keys)
        c.close()


def _user(user_id: int, n: int = 3, **kw) -> UserRecommendations:
    fields = dict(
        user_id=user_id,
        items=[Recommendation(movie_id=10 * user_id + i, score=1.0 - i / 10) for i in range(n)],
        model_version="v7",
        updated_at=NOW,
        last_event_id=uuid.uuid4(),
        last_event_at=datetime(2024, 5, 1, 11, 59, 59, 123000, tzinfo=UTC),
        source="personal",
    )
    fields.update(kw)
    return UserRecommendations(**fields)


def test_user_recommendations_round_trip(cache):
    recs = [_user(u) for u in (1, 2, 3)]
    assert cache.put_user_recommendations(recs) == 3
    for rec in recs:
        assert cache.get_user_recommendations(rec.user_id) == rec


def test_missing_user_is_none(cache):
    assert cache.get_user_recommendations(404) is None


def test_optional_fields_and_popular_source_round_trip(cache):
    rec = _user(5, n=0, last_event_id=None, last_event_at=None, source="popular")
    cache.put_user_recommendations([rec])
    assert cache.get_user_recommendations(5) == rec


def test_put_overwrites_and_numpy_scores_are_accepted(cache):
    cache.put_user_recommendations([_user(1)])
    newer = _user(1, items=[Recommendation(np.int64(7), np.float32(0.5))], model_version="v8")
    cache.put_user_recommendations(iter([newer]))  # any iterable
    got = cache.get_user_recommendations(1)
    assert got.model_version == "v8"
    assert got.items == [Recommendation(7, 0.5)]
    assert type(got.items[0].movie_id) is int and type(got.items[0].score) is float


def test_user_entries_expire(cache):
    cache.put_user_recommendations([_user(1)])
    ttl = cache.client.ttl(cache.user_key(1))
    assert 0 < ttl <= 3600


def test_expired_entry_reads_as_none(cache):
    cache.put_user_recommendations([_user(1)])
    cache.client.pexpire(cache.user_key(1), 1)
    # Redis expires lazily on access: once the 1 ms deadline passed, GET sees nothing.
    while cache.client.exists(cache.user_key(1)):
        time.sleep(0.001)
    assert cache.get_user_recommendations(1) is None


def test_empty_batch_is_a_no_op(cache):
    assert cache.put_user_recommendations([]) == 0
    assert cache.put_similar({}) == 0


def test_popular_round_trip_bounded_and_truncated(cache):
    assert cache.get_popular(10) is None
    items = [Recommendation(i, float(100 - i)) for i in range(80)]
    cache.put_popular(items, "v3", updated_at=NOW)
    top = cache.get_popular(5)
    assert isinstance(top, PopularRecommendations)
    assert top.items == items[:5]
    assert (top.model_version, top.updated_at, top.source) == ("v3", NOW, "popular")
    assert len(cache.get_popular().items) == 50  # max_popular


def test_similar_round_trip(cache):
    mapping = {
        1: [Recommendation(2, 0.9), Recommendation(3, 0.8), Recommendation(4, 0.1)],
        2: [Recommendation(1, 0.9)],
    }
    assert cache.put_similar(mapping) == 2
    assert cache.get_similar(1, 2) == mapping[1][:2]
    assert cache.get_similar(2, 10) == mapping[2]
    assert cache.get_similar(99, 10) == []
    assert 0 < cache.client.ttl(cache.similar_key(1)) <= 3600


def test_key_layout_is_the_documented_one(cache):
    cache.put_user_recommendations([_user(1)])
    cache.put_popular([Recommendation(1, 1.0)], "v1")
    cache.put_similar({7: [Recommendation(8, 0.5)]})
    keys = {k.decode() for k in cache.client.scan_iter(match=f"{cache.prefix}*")}
    assert keys == {
        f"{cache.prefix}user:1:recs",
        f"{cache.prefix}popular",
        f"{cache.prefix}movie:7:similar",
    }


def test_lists_are_stored_as_two_flat_arrays(cache):
    import orjson

    cache.put_user_recommendations([_user(1, n=3)])
    stored = orjson.loads(cache.client.get(cache.user_key(1)))
    assert stored["movie_ids"] == [10, 11, 12]
    assert stored["scores"] == [1.0, 0.9, 0.8]
    assert "items" not in stored


def test_values_in_the_earlier_layout_still_read(cache):
    """Values written before the flat arrays ("items": [[id, score], ...]) serve until they
    are rewritten or expire: the cache's readers and the API's (ranked_list) accept them."""
    import orjson

    from reelstream.cache import ranked_list

    old_user = {
        "user_id": 5, "items": [[50, 0.5], [51, 0.25]], "model_version": "v1",
        "updated_at": NOW.isoformat(), "last_event_id": None, "last_event_at": None,
        "source": "personal",
    }
    cache.client.set(cache.user_key(5), orjson.dumps(old_user))
    cache.client.set(cache.similar_key(7), orjson.dumps({"items": [[8, 0.5], [9, 0.4]]}))
    cache.client.set(
        cache.popular_key(),
        orjson.dumps({"items": [[1, 3.0]], "model_version": "p", "updated_at": NOW.isoformat()}),
    )

    assert cache.get_user_recommendations(5).items == [Recommendation(50, 0.5), Recommendation(51, 0.25)]
    assert cache.get_similar(7, 1) == [Recommendation(8, 0.5)]
    assert cache.get_popular().items == [Recommendation(1, 3.0)]
    assert ranked_list(old_user, 1) == ([50], [0.5])
    assert ranked_list({"movie_ids": [1, 2], "scores": [0.5, 0.25]}, 5) == ([1, 2], [0.5, 0.25])
    assert ranked_list({}) == ([], [])


def test_ping(cache):
    assert cache.ping()


def test_unreachable_redis():
    dead = RecommendationCache.from_url("redis://127.0.0.1:1/0", ttl_s=60, timeout_s=0.5)
    assert dead.ping() is False
    with pytest.raises(redis.ConnectionError):
        dead.get_user_recommendations(1)
