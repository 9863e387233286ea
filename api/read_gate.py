"""Reads behind a key: with ``REELSTREAM_API_READS_NEED_KEY`` every read needs ``X-API-Key``.

A pure-ASGI layer put in front of everything, the recommendations fast lane included, so no
read path gets around it. Accepted keys: the API key (``REELSTREAM_API_KEY``, which also
writes) and the read-only key (``REELSTREAM_API_READ_KEY``, when set), compared in constant
time. Health, Prometheus metrics and the API's documentation stay open: load balancers,
Prometheus and people reading the docs need no key.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

import orjson

__all__ = ["ReadKeyGate", "OPEN_PATHS", "READ_UNAUTHORIZED_DETAIL"]

OPEN_PATHS = ("/health", "/metrics", "/docs", "/redoc", "/openapi.json")
READ_UNAUTHORIZED_DETAIL = "Reads need an API key here (X-API-Key header)"
_BODY = orjson.dumps({"detail": READ_UNAUTHORIZED_DETAIL})


def _open(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in OPEN_PATHS)


class ReadKeyGate:
    """Answers 401 to a read (GET/HEAD) without an accepted key; passes everything else on
    (writes have their own key check in :class:`api.edge.RequestEdge`)."""

    def __init__(self, app: Any, keys: Iterable[str]) -> None:
        self.app = app
        self.keys = [k.encode() for k in keys if k]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (scope["type"] != "http" or scope["method"] not in ("GET", "HEAD")
                or _open(scope["path"]) or self._accepted(scope["headers"])):
            await self.app(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 401, "headers": [
            (b"content-type", b"application/json"), (b"content-length", b"%d" % len(_BODY)),
            (b"www-authenticate", b"APIKey")]})
        await send({"type": "http.response.body", "body": _BODY})

    def _accepted(self, headers: list[tuple[bytes, bytes]]) -> bool:
        given = next((value for name, value in headers if name == b"x-api-key"), None)
        if given is None:
            return False
        # every key compared, so the time does not say which one came close
        return sum(secrets.compare_digest(given, key) for key in self.keys) > 0
