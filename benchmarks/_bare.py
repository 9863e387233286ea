"""The baseline of ``reelstream bench api``: a bare ASGI app answering a fixed JSON body.

No framework, no I/O: what uvicorn alone costs per request on this machine.
"""

from __future__ import annotations

from typing import Any

import orjson

BODY = orjson.dumps(
    {
        "user_id": 1,
        "source": "personal",
        "reason": None,
        "model_version": "bench",
        "updated_at": "2024-01-01T00:00:00Z",
        "last_event_id": "00000000-0000-0000-0000-000000000000",
        "last_event_at": "2024-01-01T00:00:00Z",
        "items": [
            {"movie_id": 1000 + i, "title": f"Movie {i}", "genres": ["Drama", "Comedy"], "score": 4.5}
            for i in range(10)
        ],
    }
)
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def _fastapi_app() -> Any:
    """The same body from a one-route FastAPI app: what the framework alone costs."""
    from fastapi import FastAPI, Response

    fast = FastAPI()

    @fast.get("/")
    async def root() -> Response:
        return Response(BODY, media_type="application/json")

    return fast


fastapi_app = _fastapi_app()
