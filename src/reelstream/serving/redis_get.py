"""A minimal asyncio Redis client for the API's hot path: ``GET`` only, pipelined on one
connection, replies parsed by hiredis.

Why not ``redis.asyncio``: per ``GET`` its connection-pool checkout and release, command
packing, observability hooks and stream reader cost about as much CPU as the rest of a
recommendations request (figures: ``docs/performance.md``, bench api). This client writes commands straight to one connection
and matches replies to waiters in order (Redis answers a connection's commands in the order
sent), so concurrent requests share the connection without a pool and without waiting for one
another's round trips. Two more costs are shared rather than paid per request:

- writes: the commands issued in one event-loop iteration go out in one ``write`` (one system
  call for all the requests uvicorn started in that iteration);
- timeouts: no timer per request. Replies come in order, so only the oldest waiter's deadline
  matters; one watchdog per connection checks it. A connection whose oldest command is overdue
  is dropped and every waiter on it fails with ``TimeoutError`` (their replies can no longer be
  told apart from late ones).

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
    def __init__(self, timeout_s: float) -> None:
        self.loop = asyncio.get_running_loop()
        self.timeout_s = timeout_s
        self.transport: asyncio.Transport | None = None
        self.waiters: deque[tuple[asyncio.Future[Any], float]] = deque()  # (waiter, deadline)
        self.reader = hiredis.Reader()
        self.closed = False
        self._unsent: list[bytes] = []
        self._watchdog: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, command: bytes) -> asyncio.Future[Any]:
        """Queue ``command`` for this iteration's write; the future gets its reply."""
        loop = self.loop
        waiter = loop.create_future()
        deadline = loop.time() + self.timeout_s
        self.waiters.append((waiter, deadline))
        unsent = self._unsent
        unsent.append(command)
        if len(unsent) == 1:
            loop.call_soon(self._flush)
        if self._watchdog is None:
            self._watchdog = loop.call_at(deadline, self._check_oldest)
        return waiter

    def _flush(self) -> None:
        if not self.closed and self._unsent:
            self.transport.write(b"".join(self._unsent))  # type: ignore[union-attr]
        self._unsent.clear()

    def _check_oldest(self) -> None:
        self._watchdog = None
        if not self.waiters:
            return
        deadline = self.waiters[0][1]
        if self.loop.time() >= deadline:
            self.fail(TimeoutError(f"Redis did not answer within {self.timeout_s:g} s"))
        else:
            self._watchdog = self.loop.call_at(deadline, self._check_oldest)

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        reader.feed(data)
        waiters = self.waiters
        while (reply := reader.gets()) is not False:
            waiter = waiters.popleft()[0]
            if not waiter.done():  # a cancelled request: its reply is dropped
                if isinstance(reply, hiredis.ReplyError):
                    waiter.set_exception(reply)
                else:
                    waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(ConnectionError(f"Redis connection lost ({exc or 'closed by server'})"))

    def fail(self, error: Exception) -> None:
        """Drop the connection; every waiter still on it gets ``error``."""
        self.close()
        while self.waiters:
            waiter = self.waiters.popleft()[0]
            if not waiter.done():
                waiter.set_exception(error)

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()
        self.closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None


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
        return await protocol.send(b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(key), key))

    async def _connect(self) -> _Protocol:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:  # concurrent first requests open one connection
            if self._protocol is not None and not self._protocol.closed:
                return self._protocol
            loop = asyncio.get_running_loop()
            try:
                async with asyncio.timeout(self.timeout_s):
                    _, protocol = await loop.create_connection(
                        lambda: _Protocol(self.timeout_s), self.host, self.port
                    )
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
        for waiter in [protocol.send(command) for command in commands]:
            await waiter  # an error reply (bad password/db) raises

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
