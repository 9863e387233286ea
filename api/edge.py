"""The API's edge: the API key and the body size are checked before a request body is read.

FastAPI reads and parses a request's JSON body before it resolves the route's dependencies,
so an API-key dependency alone answers a malformed unauthenticated write with 422 (and has
parsed however many bytes the client sent). This pure-ASGI layer, in front of the routes:

1. answers **401** to a request for a route that requires ``X-API-Key`` (the routes that
   depend on :func:`api.deps.require_api_key`) when the key is missing or wrong, compared in
   constant time, without reading the body: the key is checked first, so an unauthenticated
   client learns nothing else (not even the body limit);
2. answers **413** when ``Content-Length`` exceeds ``REELSTREAM_MAX_BODY_BYTES``, and stops a
   body sent without a length (chunked) as soon as it has passed the limit.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from fastapi import HTTPException, status
from fastapi.routing import APIRoute

from reelstream.serving import ApiMetrics

__all__ = ["BodyTooLarge", "RequestEdge", "key_protected_routes", "UNAUTHORIZED_DETAIL"]

UNAUTHORIZED_DETAIL = "Missing or invalid API key (X-API-Key header)"


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a streamed body has passed the limit. An HTTPException,
    so FastAPI's body reading passes it on (it turns other errors into 400) and its handler
    answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(status.HTTP_413_CONTENT_TOO_LARGE, body_too_large_detail(limit))


def body_too_large_detail(limit: int) -> str:
    return f"Request body larger than {limit} bytes (REELSTREAM_MAX_BODY_BYTES)"


def key_protected_routes(routes: Iterable[Any], dependency: Any) -> list[tuple[Any, set[str]]]:
    """``(path_regex, methods)`` of every route that declares ``dependency``."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute) and any(
            sub.call is dependency for sub in route.dependant.dependencies
        ):
            found.append((route.path_regex, set(route.methods)))
    return found


class RequestEdge:
    """Pure-ASGI middleware: the API key and the body limit (module docstring)."""

    def __init__(
        self,
        app: Any,
        *,
        api_key: str,
        protected: list[tuple[Any, set[str]]],
        max_body_bytes: int,
        metrics: ApiMetrics,
    ) -> None:
        self.app = app
        self.api_key = api_key.encode()
        self.protected = protected
        self.max_body_bytes = max_body_bytes
        self.unauthorized = metrics.events_rejected.labels("unauthorized")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        if self._needs_key(scope) and not self._key_ok(headers):
            self.unauthorized.inc()
            await _answer(
                send, 401, UNAUTHORIZED_DETAIL, [(b"www-authenticate", b"APIKey")]
            )
            return
        length: int | None = None
        chunked = False
        for name, value in headers:
            if name == b"content-length":
                length = int(value) if value.isdigit() else None
            elif name == b"transfer-encoding":
                chunked = True
        if length is not None and length > self.max_body_bytes:
            await _answer(send, 413, body_too_large_detail(self.max_body_bytes))
            return
        if not chunked and length is None:  # no body: nothing to watch
            await self.app(scope, receive, send)
            return
        await self._limited(scope, receive, send)

    def _needs_key(self, scope: dict[str, Any]) -> bool:
        method, path = scope["method"], scope["path"]
        return any(
            method in methods and regex.match(path) for regex, methods in self.protected
        )

    def _key_ok(self, headers: list[tuple[bytes, bytes]]) -> bool:
        for name, value in headers:
            if name == b"x-api-key":
                return secrets.compare_digest(value, self.api_key)
        return False

    async def _limited(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        limit = self.max_body_bytes
        received = 0
        started = False

        async def receive_limited() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def send_watched(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_limited, send_watched)
        except BodyTooLarge as exc:  # read outside FastAPI's handlers: answer here
            if started:
                raise
            await _answer(send, exc.status_code, exc.detail)


async def _answer(
    send: Any, status_code: int, detail: str, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    body = orjson.dumps({"detail": detail})
    await send(
        {
            "type": "http.response.start",
            "status": status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
