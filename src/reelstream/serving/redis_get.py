"""A minimal asyncio Redis client for the API's hot path: ``GET`` only, pipelined on one
connection, replies parsed by hiredis.

Why not ``redis.asyncio``: per ``GET`` it spent ~200 µs of CPU here (connection-pool checkout
and release, command packing, observability hooks, a stream reader), about as much as the
rest of a recommendations request. This client writes each command straight to one
connection and matches replies to waiters in order (Redis answers a connection's commands in
the order sent), so concurrent requests share the connection without a pool and without
waiting for one another's round trips.

Failure behaviour matches what the reader expects from redis-py: an unreachable server raises
``ConnectionError`` (an ``OSError``), a slow one ``TimeoutError``; after either, the connection
is dropped and the next call reconnects. ``redis://[[user]:password@]host[:port][/db]`` URLs
are supported (``AUTH`` and ``SELECT`` on connect); for any other URL :func:`async_get_client`
returns a ``redis.asyncio`` client instead.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any
from urllib.parse import unquote, urlsplit

import hiredis

__all__ = ["PipelinedGetClient", "async_get_client"]


def _command(*parts: bytes) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiters: deque[asyncio.Future[Any]] = deque()
        self.reader = hiredis.Reader()
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        reader.feed(data)
        waiters = self.waiters
        while (reply := reader.gets()) is not False:
            waiter = waiters.popleft()
            if not waiter.done():  # a waiter that timed out is skipped, its reply dropped
                if isinstance(reply, hiredis.ReplyError):
                    waiter.set_exception(reply)
                else:
                    waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        error = ConnectionError(f"Redis connection lost ({exc or 'closed by server'})")
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_exception(error)

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()
        self.closed = True


class PipelinedGetClient:
    """``await client.get(key)`` -> ``bytes | None``; one lazily (re)opened connection."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 6379,
        *,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 2.0,
    ) -> None:
        self.host, self.port, self.db = host, port, db
        self.username, self.password = username, password
        self.timeout_s = timeout_s
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Lock | None = None

    @classmethod
    def from_url(cls, url: str, timeout_s: float = 2.0) -> PipelinedGetClient:
        parts = urlsplit(url)
        if parts.scheme != "redis":
            raise ValueError(f"unsupported Redis URL scheme: {parts.scheme!r}")
        path = parts.path.strip("/")
        return cls(
            parts.hostname or "127.0.0.1",
            parts.port or 6379,
            db=int(path) if path else 0,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout_s=timeout_s,
        )

    async def get(self, key: str | bytes) -> bytes | None:
        if isinstance(key, str):
            key = key.encode()
        protocol = self._protocol
        if protocol is None or protocol.closed:
            protocol = await self._connect()
        waiter = asyncio.get_running_loop().create_future()
        protocol.waiters.append(waiter)
        protocol.transport.write(b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(key), key))  # type: ignore[union-attr]
        return await self._wait(protocol, waiter)

    async def _wait(self, protocol: _Protocol, waiter: asyncio.Future[Any]) -> Any:
        try:
            async with asyncio.timeout(self.timeout_s):
                return await waiter
        except TimeoutError:
            protocol.close()  # replies may still come for it: start over on a new connection
            raise TimeoutError(f"Redis did not answer within {self.timeout_s:g} s") from None

    async def _connect(self) -> _Protocol:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:  # concurrent first requests open one connection
            if self._protocol is not None and not self._protocol.closed:
                return self._protocol
            loop = asyncio.get_running_loop()
            try:
                async with asyncio.timeout(self.timeout_s):
                    _, protocol = await loop.create_connection(_Protocol, self.host, self.port)
            except TimeoutError:
                raise ConnectionError(
                    f"could not connect to Redis at {self.host}:{self.port} within {self.timeout_s:g} s"
                ) from None
            except OSError as exc:
                raise ConnectionError(
                    f"could not connect to Redis at {self.host}:{self.port}: {exc}"
                ) from exc
            try:
                await self._handshake(protocol)
            except BaseException:
                protocol.close()
                raise
            self._protocol = protocol
            return protocol

    async def _handshake(self, protocol: _Protocol) -> None:
        commands = []
        if self.password is not None:
            auth = [b"AUTH"] + ([self.username.encode()] if self.username else [])
            commands.append(_command(*auth, self.password.encode()))
        if self.db:
            commands.append(_command(b"SELECT", str(self.db).encode()))
        loop = asyncio.get_running_loop()
        waiters = []
        for command in commands:
            waiter = loop.create_future()
            protocol.waiters.append(waiter)
            protocol.transport.write(command)  # type: ignore[union-attr]
            waiters.append(waiter)
        for waiter in waiters:
            await self._wait(protocol, waiter)  # an error reply (bad password/db) raises

    async def aclose(self) -> None:
        if self._protocol is not None:
            self._protocol.close()
            self._protocol = None


def async_get_client(url: str, timeout_s: float = 2.0) -> Any:
    """The fast client for ``redis://`` URLs; ``redis.asyncio.Redis`` for any other."""
    if urlsplit(url).scheme == "redis":
        return PipelinedGetClient.from_url(url, timeout_s)
    import redis.asyncio

    return redis.asyncio.Redis.from_url(
        url, max_connections=1000, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
    )
