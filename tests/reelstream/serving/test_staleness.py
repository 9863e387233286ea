"""The stale flag, decided from a list's time or straight from a stored page's bytes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from reelstream.serving.recommendations import ServedRecommendations
from reelstream.serving.staleness import Staleness

DAY = 86_400.0


def page(updated_at: str | None, title: str = "A Movie (1999)") -> bytes:
    items = orjson.Fragment(orjson.dumps([{"movie_id": 1, "title": title, "genres": [], "score": 1.0}]))
    return ServedRecommendations.personal(7, {"model_version": "v", "updated_at": updated_at}, items).to_json()


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


@pytest.mark.parametrize(
    ("updated_at", "stale"),
    [(ago(days=2), True), (ago(hours=23), False), (ago(seconds=0), False), (None, False),
     ((datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ"), True),
     ((datetime.now(UTC) - timedelta(days=2)).astimezone(
         timezone(timedelta(hours=5))).isoformat(), True),
     ((datetime.now(UTC) - timedelta(hours=20)).astimezone(
         timezone(timedelta(hours=-5))).isoformat(), False)],
)
def test_page_and_list_agree(updated_at: str | None, stale: bool) -> None:
    staleness = Staleness(DAY)
    assert staleness.of(updated_at) is stale
    flagged = staleness.flag_page(page(updated_at))
    assert flagged is not None
    assert orjson.loads(flagged)["stale"] is stale
    assert flagged == page(updated_at).replace(b'"stale":false', b'"stale":%s' % (b"true" if stale else b"false"))


def test_a_title_cannot_fake_the_flag() -> None:
    tricky = page(ago(days=2), title='"stale":false,"updated_at":"2999-01-01T00:00:00+00:00"')
    assert orjson.loads(Staleness(DAY).flag_page(tricky))["stale"] is True


def test_a_page_without_the_flag_is_refused() -> None:
    assert Staleness(DAY).flag_page(page(ago(days=2)).replace(b',"stale":false', b"")) is None
