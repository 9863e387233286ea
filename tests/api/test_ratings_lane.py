"""The ratings fast lane (api.ratings_lane): which POSTs it answers, and that everything else
reaches FastAPI with the same body (pure ASGI, a recording publisher; no broker).

The integration tests of ``POST /ratings`` (tests/api/routes/test_ratings_routes.py) run
through the lane too: 202 on the topic, 401, 413, 422 and 503 against the real broker."""

from __future__ import annotations

import asyncio
import json
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from api.ratings_lane import RatingsLane
from reelstream.serving import ApiMetrics, BrokerUnavailable

KEY = "lane-test-key"
EVENT = {"user_id": 42, "movie_id": 31, "rating": 2.5, "timestamp": "2009-12-14T02:52:24Z"}


class Publisher:
    def __init__(self, fail: bool = False) -> None:
        self.published: list[Any] = []
        self.fail = fail

    async def publish(self, events: list[Any]) -> list[uuid.UUID]:
        if self.fail:
            raise BrokerUnavailable("broker down", unconfirmed=[e.event_id for e in events])
        self.published.extend(events)
        return [e.event_id for e in events]


def _call(
    body: bytes,
    *,
    headers: dict[bytes, bytes] | None = None,
    path: str = "/ratings",
    query: bytes = b"",
    method: str = "POST",
    publisher: Publisher | None = None,
    chunks: int = 1,
) -> tuple[list[dict[str, Any]], list[bytes], Publisher]:
    """Run one request through the lane; returns what it sent and the bodies FastAPI read."""
    publisher = publisher or Publisher()
    given = {
        b"x-api-key": KEY.encode(),
        b"content-type": b"application/json",
        b"content-length": str(len(body)).encode(),
        **(headers or {}),
    }
    scope = {
        "type": "http", "method": method, "path": path, "root_path": "", "query_string": query,
        "headers": [(k, v) for k, v in given.items() if v is not None],
        "app": SimpleNamespace(state=SimpleNamespace(context=SimpleNamespace(publisher=publisher))),
    }
    step = max(1, -(-len(body) // chunks))
    parts = [body[i : i + step] for i in range(0, len(body), step)] or [b""]
    messages = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]
    fastapi_read: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def fastapi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        read = b""
        while True:
            message = await receive()
            read += message.get("body", b"")
            if not message.get("more_body"):
                break
        fastapi_read.append(read)
        await send({"type": "http.response.start", "status": 299, "headers": []})

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    lane = RatingsLane(fastapi, ApiMetrics(), api_key=KEY, max_body_bytes=1000)
    asyncio.run(lane(scope, receive, send))
    return sent, fastapi_read, publisher


@pytest.mark.parametrize("chunks", [1, 3])
def test_a_plainly_valid_rating_is_published_and_answered_202_by_the_lane(chunks: int) -> None:
    sent, fastapi_read, publisher = _call(json.dumps(EVENT).encode(), chunks=chunks)
    assert fastapi_read == []  # FastAPI never saw it
    (event,) = publisher.published
    assert (event.user_id, event.movie_id, event.rating) == (42, 31, 2.5)
    assert sent[0]["status"] == 202
    assert json.loads(sent[1]["body"]) == {"event_id": str(event.event_id)}


def test_a_given_event_id_is_kept() -> None:
    event_id = str(uuid.uuid4())
    sent, _, publisher = _call(json.dumps({**EVENT, "event_id": event_id}).encode())
    assert str(publisher.published[0].event_id) == event_id
    assert json.loads(sent[1]["body"]) == {"event_id": event_id}


@pytest.mark.parametrize(
    ("body", "changes"),
    [
        (json.dumps(EVENT).encode(), {"headers": {b"x-api-key": b"wrong"}}),
        (json.dumps(EVENT).encode(), {"headers": {b"x-api-key": None}}),
        (json.dumps(EVENT).encode(), {"headers": {b"content-type": b"text/plain"}}),
        (json.dumps(EVENT).encode(), {"headers": {b"content-length": None}}),
        (json.dumps(EVENT).encode(), {"headers": {b"transfer-encoding": b"chunked"}}),
        (b"x" * 1001, {}),  # past REELSTREAM_MAX_BODY_BYTES: the edge answers 413
        (json.dumps(EVENT).encode(), {"query": b"a=1"}),
        (json.dumps(EVENT).encode(), {"path": "/ratings/batch"}),
        (json.dumps(EVENT).encode(), {"method": "PUT"}),
        (b"{not json", {}),
        (b"[]", {}),
        (json.dumps({**EVENT, "rating": 4.2}).encode(), {}),
        (json.dumps({**EVENT, "rating": "4.5"}).encode(), {}),  # strict float, as the route
        (json.dumps({**EVENT, "extra": 1}).encode(), {}),
        (json.dumps({k: v for k, v in EVENT.items() if k != "user_id"}).encode(), {}),
    ],
)
def test_anything_else_reaches_fastapi_with_its_body(body: bytes, changes: dict) -> None:
    sent, fastapi_read, publisher = _call(body, **changes)
    assert fastapi_read == [body] and publisher.published == []
    assert sent[0]["status"] == 299  # FastAPI's answer, not the lane's


def test_when_the_broker_does_not_acknowledge_the_route_retries_the_same_event() -> None:
    sent, fastapi_read, _ = _call(json.dumps(EVENT).encode(), publisher=Publisher(fail=True))
    (replayed,) = fastapi_read
    event = json.loads(replayed)
    uuid.UUID(event.pop("event_id"))  # given by the lane: a retry cannot make a second id
    assert event == {**EVENT, "timestamp": "2009-12-14T02:52:24Z"}
    assert sent[0]["status"] == 299
