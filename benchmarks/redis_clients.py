"""Other libraries' asyncio Redis clients, adapted to what the API's reader needs.

``reelstream bench api --redis-clients coredis,valkey-glide`` runs the API with each of them
(``REELSTREAM_API_REDIS_CLIENT=benchmarks.redis_clients:CoredisGet`` ...) beside its own.

=================  ============================================================================
``coredis``        ``coredis.Redis`` (its connection pool lives inside ``async with``, so one
                   task holds it open until :meth:`aclose`)
``valkey-glide``   ``glide.GlideClient`` (Rust core, one multiplexed connection; created on
                   first use, since creating it needs the event loop)
=================  ============================================================================
"""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = ["CLIENTS", "CoredisGet", "GlideGet", "installed"]

#: Each client the API can run with, by name: the value of ``REELSTREAM_API_REDIS_CLIENT``.
CLIENTS = {
    "pipelined": "pipelined",
    "redis-py": "redis-py",
    "coredis": "benchmarks.redis_clients:CoredisGet",
    "valkey-glide": "benchmarks.redis_clients:GlideGet",
}

_MODULES = {"pipelined": "hiredis", "redis-py": "redis", "coredis": "coredis", "valkey-glide": "glide"}


def installed(name: str) -> bool:
    """Whether client ``name``'s library is installed (coredis and valkey-glide are extras)."""
    return importlib.util.find_spec(_MODULES[name]) is not None


class CoredisGet:
    def __init__(self, url: str, timeout_s: float) -> None:
        import coredis

        self._client = coredis.Redis.from_url(
            url, decode_responses=False, connect_timeout=timeout_s, stream_timeout=timeout_s
        )
        self._open: asyncio.Future[None] | None = None
        self._stop = asyncio.Event()
        self._holder: asyncio.Task[None] | None = None

    async def get(self, key: str) -> bytes | None:
        if self._open is None or (self._open.done() and self._open.exception() is not None):
            self._open = asyncio.get_running_loop().create_future()
            self._holder = asyncio.create_task(self._hold(self._open))
        await self._open
        return await self._client.get(key)

    async def _hold(self, opened: asyncio.Future[None]) -> None:
        """Enter and leave the client's context in this one task (anyio requires it)."""
        try:
            async with self._client:
                opened.set_result(None)
                await self._stop.wait()
        except Exception as exc:
            if not opened.done():
                opened.set_exception(exc)  # the next get tries again

    async def aclose(self) -> None:
        self._stop.set()
        if self._holder is not None:
            await self._holder


class GlideGet:
    def __init__(self, url: str, timeout_s: float) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 6379
        self._db = int(parts.path.lstrip("/") or 0)
        self._password = unquote(parts.password) if parts.password else None
        self._username = unquote(parts.username) if parts.username else None
        self._timeout_ms = int(timeout_s * 1000)
        self._client: Any = None
        self._lock: asyncio.Lock | None = None

    async def get(self, key: str) -> bytes | None:
        client = self._client or await self._create()
        return await client.get(key)

    async def _create(self) -> Any:
        from glide import GlideClient, GlideClientConfiguration, NodeAddress, ServerCredentials

        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if self._client is None:
                credentials = (
                    ServerCredentials(self._password, self._username) if self._password else None
                )
                self._client = await GlideClient.create(
                    GlideClientConfiguration(
                        [NodeAddress(self._host, self._port)],
                        credentials=credentials,
                        database_id=self._db,
                        request_timeout=self._timeout_ms,
                    )
                )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
