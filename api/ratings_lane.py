"""The ratings fast lane: the API's hot write served at the outermost ASGI layer.

``POST /ratings`` is an ordinary FastAPI route (request edge, validation, OpenAPI docs, the
401/413/422/503 answers). Through FastAPI a request passes the exception and latency
middleware, the request edge, the router, dependency resolution and response serialisation,
which together cost more CPU than validating the event and publishing it. A request that is
*plainly fine* needs none of that: the right ``X-API-Key``, a JSON body with a
``Content-Length`` within ``REELSTREAM_MAX_BODY_BYTES``, and an event that validates exactly
as the route validates it (:class:`~reelstream.schemas.RatingEvent` on the parsed JSON). This
layer publishes it and answers the route's 202 body itself.

Everything else goes down the normal stack unchanged, with the body it read replayed: a
missing or wrong key, a body too large or sent chunked, malformed JSON, an invalid event. When
the broker does not acknowledge, the event goes down the normal stack *with the id it was
given here*, so the route's retry cannot publish it under a second id, and the route answers
(202, or the documented 503). Tests compare both lanes.

It times what it serves into the route's latency histogram, under the route's template.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import orjson
from pydantic import ValidationError

from api.bodies import RatingAccepted
from api.fast_lane import send_json
from reelstream.schemas import RatingEvent
from reelstream.serving import ApiMetrics, BrokerUnavailable

__all__ = ["RatingsLane"]

ROUTE = "/ratings"


class RatingsLane:
    """Pure-ASGI middleware publishing plainly valid ``POST /ratings`` (module docstring)."""

    def __init__(self, app: Any, metrics: ApiMetrics, *, api_key: str, max_body_bytes: int) -> None:
        self.app = app
        self.api_key = api_key.encode()
        self.max_body_bytes = max_body_bytes
        self.accepted = metrics.events_accepted
        self.latency = metrics.latency(ROUTE, "POST", 202)  # the one series the lane observes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not (scope["type"] == "http" and scope["method"] == "POST" and self._plain(scope)):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        body = await _read_body(receive)
        if body is None:  # the client went away
            return
        try:
            event = RatingEvent.model_validate(orjson.loads(body))
        except (orjson.JSONDecodeError, ValidationError):
            await self.app(scope, _replaying(body, receive), send)  # the route's 422
            return
        try:
            await scope["app"].state.context.publisher.publish([event])
        except BrokerUnavailable:
            await self.app(scope, _replaying(event.to_bytes(), receive), send)
            return
        self.accepted.inc()
        response = RatingAccepted(event_id=event.event_id).model_dump_json().encode()
        await send_json(send, 202, response)
        self.latency.observe(time.perf_counter() - start)

    def _plain(self, scope: dict[str, Any]) -> bool:
        """The route, no query, the key, a JSON body of a stated length within the limit."""
        path: str = scope["path"]
        root_path: str = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :]
        if path != ROUTE or scope["query_string"]:
            return False
        key_ok = json = False
        length: int | None = None
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                key_ok = secrets.compare_digest(value, self.api_key)
            elif name == b"content-type":
                json = value.split(b";", 1)[0].strip().lower() == b"application/json"
            elif name == b"content-length":
                length = int(value) if value.isdigit() else None
            elif name == b"transfer-encoding":
                return False
        return key_ok and json and length is not None and length <= self.max_body_bytes


async def _read_body(receive: Any) -> bytes | None:
    """The whole body (its length was checked), or None when the client disconnected."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Any) -> Any:
    """A ``receive`` that gives ``body`` first, then what the client sends next."""
    given = False

    async def replayed() -> dict[str, Any]:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed
