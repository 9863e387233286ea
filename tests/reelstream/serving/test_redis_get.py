"""The hot path's pipelined GET client against the real Redis, and its failure modes."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis

from reelstream.processes import free_port as closed_port
from benchmarks.api import with_redis_db
from reelstream.serving.redis_get import PipelinedGetClient, async_get_client
from reelstream.settings import Settings

REDIS_DB = 3  # a database of its own on the session's Redis


def test_from_url_parses_host_port_db_and_credentials() -> None:
    client = PipelinedGetClient.from_url("redis://user:p%40ss@10.0.0.1:7000/5")
    assert (client.host, client.port, client.db) == ("10.0.0.1", 7000, 5)
    assert (client.username, client.password) == ("user", "p@ss")
    plain = PipelinedGetClient.from_url("redis://localhost")
    assert (plain.host, plain.port, plain.db, plain.password) == ("localhost", 6379, 0, None)


def test_other_schemes_use_redis_py() -> None:
    import redis.asyncio

    assert isinstance(async_get_client("redis://127.0.0.1:1/0"), PipelinedGetClient)
    assert isinstance(async_get_client("unix:///tmp/redis.sock"), redis.asyncio.Redis)
    with pytest.raises(ValueError):
        PipelinedGetClient.from_url("rediss://127.0.0.1:1/0")


def test_concurrent_gets_each_get_their_own_value(stack: Settings) -> None:
    url = with_redis_db(stack.redis_url, REDIS_DB)
    prefix = f"redis-get-test-{uuid.uuid4().hex[:6]}:"
    sync = redis.Redis.from_url(url)
    values = {f"{prefix}{i}".encode(): f"value-{i}".encode() * (i % 50 + 1) for i in range(300)}
    sync.mset(values)
    try:
        async def run() -> list[bytes | None]:
            client = async_get_client(url)
            keys = list(values) + [f"{prefix}missing".encode()]
            try:
                return await asyncio.gather(*(client.get(k) for k in keys))  # one connection
            finally:
                await client.aclose()

        got = asyncio.run(run())
        assert got[:-1] == list(values.values())
        assert got[-1] is None
    finally:
        sync.delete(*values)
        sync.close()


def test_selects_the_database_of_the_url(stack: Settings) -> None:
    key = f"redis-get-db-{uuid.uuid4().hex}"
    other = redis.Redis.from_url(with_redis_db(stack.redis_url, REDIS_DB))
    other.set(key, b"in-db-3")
    try:
        async def run(db: int) -> bytes | None:
            client = async_get_client(with_redis_db(stack.redis_url, db))
            try:
                return await client.get(key)
            finally:
                await client.aclose()

        assert asyncio.run(run(REDIS_DB)) == b"in-db-3"
        assert asyncio.run(run(REDIS_DB + 1)) is None
    finally:
        other.delete(key)
        other.close()


def test_wrong_password_is_an_error(stack: Settings) -> None:
    host_port = stack.redis_url.split("://", 1)[1].split("/", 1)[0]

    async def run() -> None:
        client = async_get_client(f"redis://:not-the-password@{host_port}/0")
        await client.get("k")

    with pytest.raises(Exception, match="(?i)auth|password"):
        asyncio.run(run())


def test_unreachable_server_raises_connection_error() -> None:
    async def run() -> None:
        client = PipelinedGetClient("127.0.0.1", closed_port(), timeout_s=1.0)
        with pytest.raises(ConnectionError):
            await client.get("k")
        with pytest.raises(ConnectionError):  # and again: every call retries the connection
            await client.get("k")

    asyncio.run(run())


def test_silent_server_times_out_then_reconnects() -> None:
    """A server that accepts but never answers: TimeoutError, and the connection is dropped
    (a late reply must not be handed to the next request)."""

    async def run() -> None:
        connections = 0

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal connections
            connections += 1
            await reader.read()  # until the client hangs up
            writer.close()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = PipelinedGetClient("127.0.0.1", port, timeout_s=0.2)
        try:
            with pytest.raises(TimeoutError):
                await client.get("a")
            with pytest.raises(TimeoutError):
                await client.get("b")
            assert connections == 2
        finally:
            await client.aclose()
            server.close()

    asyncio.run(run())


def test_server_closing_fails_pending_gets() -> None:
    async def run() -> None:
        async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(1)
            writer.close()

        server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = PipelinedGetClient("127.0.0.1", port, timeout_s=5.0)
        try:
            results = await asyncio.gather(
                *(client.get(str(i)) for i in range(5)), return_exceptions=True
            )
            assert all(isinstance(r, ConnectionError) for r in results), results
        finally:
            await client.aclose()
            server.close()

    asyncio.run(run())


def test_a_command_behind_an_answered_one_still_times_out() -> None:
    """One watchdog per connection follows the oldest waiter: a server that answers the first
    GET and then goes silent fails the second after the timeout, not never."""

    async def run() -> None:
        async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\nfirst\r\n")
            writer.write(b"$2\r\nok\r\n")
            await writer.drain()
            await reader.read()  # then silence, until the client hangs up
            writer.close()

        server = await asyncio.start_server(answer_once, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = PipelinedGetClient("127.0.0.1", port, timeout_s=0.3)
        try:
            assert await client.get("first") == b"ok"
            await asyncio.sleep(0.2)  # the watchdog armed for "first" must not fire early
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(TimeoutError):
                await client.get("second")
            assert 0.25 <= loop.time() - started < 2.0
        finally:
            await client.aclose()
            server.close()

    asyncio.run(run())
