"""The recommendations fast lane: the API's hot read served at the outermost ASGI layer.

``GET /users/{user_id}/recommendations`` is an ordinary FastAPI route (response model,
validation, OpenAPI docs, the 422s). A request whose parameters are *plainly valid* (a decimal
``user_id`` in range, no query string or only ``n=<decimal in range>``) needs none of that, and
the framework layers it would pass through (exception middleware, router, exit stack, latency
middleware) cost more CPU than the Redis read and the JSON body together. This ASGI layer, put
in front of the whole middleware stack (:class:`api.main.ReelstreamAPI`), answers those
requests itself with the same body the route returns; everything else goes down the normal
stack unchanged. Tests compare both lanes.

Both lanes get the body from
:meth:`~reelstream.serving.RecommendationReader.response_for_user`: for the default ``n``
that is the page the worker stored ready to serve (one Redis ``GET``, no parsing or
rendering at all).

It times what it serves into the same latency histogram, under the route's template. When the
lane cannot answer (Redis and the PostgreSQL fallback both unreachable) the request is handed
to the normal stack, whose exception handler gives the documented 503.
"""

from __future__ import annotations

import re
import time
from typing import Any

from reelstream.serving import ApiMetrics, RecommendationsUnavailable, ServingContext
from reelstream.serving.context import N_MAX, USER_ID_MAX, recommendations_body
from reelstream.serving.recommendations import DEFAULT_N

__all__ = ["RecommendationsLane", "lane_args", "send_json"]

ROUTE = "/users/{user_id}/recommendations"

_JSON = (b"content-type", b"application/json")


_PATH = re.compile(r"/users/([0-9]{1,10})/recommendations")  # ASCII digits only
_QUERY = re.compile(rb"n=([0-9]{1,10})")


def lane_args(method: str, path: str, query: bytes) -> tuple[int, int] | None:
    """``(user_id, n)`` when the request needs no FastAPI validation at all, else None."""
    if method != "GET" or (match := _PATH.fullmatch(path)) is None:
        return None
    user_id = int(match[1])
    if not 0 < user_id < USER_ID_MAX:
        return None
    if not query:
        return user_id, DEFAULT_N
    if (match := _QUERY.fullmatch(query)) is None or not 0 < (n := int(match[1])) <= N_MAX:
        return None
    return user_id, n


class RecommendationsLane:
    """Pure-ASGI middleware serving plainly valid recommendation reads (module docstring)."""

    def __init__(self, app: Any, metrics: ApiMetrics) -> None:
        self.app = app
        self.latency = metrics.latency(ROUTE, "GET", 200)  # the one series the lane observes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        root_path: str = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :]
        args = lane_args(scope["method"], path, scope["query_string"])
        if args is None:
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        try:
            body = await recommendations_body(scope["app"].state.context, *args)
        except RecommendationsUnavailable:
            await self.app(scope, receive, send)  # the route tries once more, then answers 503
            return
        await send_json(send, 200, body)
        self.latency.observe(time.perf_counter() - start)


async def send_json(send: Any, status: int, body: bytes) -> None:
    """Answer with a JSON ``body`` already encoded (the lanes' responses)."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-length", b"%d" % len(body)), _JSON],
        }
    )
    await send({"type": "http.response.body", "body": body})
