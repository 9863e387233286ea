"""Every Redis client the API can use gives the hand-written pipelined client's answers."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis

from benchmarks.api import with_redis_db
from benchmarks.redis_clients import CLIENTS
from reelstream.processes import free_port as closed_port
from reelstream.serving.redis_clients import open_get_client
from reelstream.settings import Settings

REDIS_DB = 5  # a database of its own on the session's Redis
LIBRARY_CLIENTS = [kind for name, kind in CLIENTS.items() if name != "pipelined"]


async def _answers(url: str, kind: str, keys: list[str]) -> list[bytes | None]:
    client = open_get_client(url, kind)
    try:
        first = await client.get(keys[0])  # connects
        rest = await asyncio.gather(*(client.get(k) for k in keys[1:]))
        return [first, *rest]
    finally:
        await client.aclose()


@pytest.mark.parametrize("kind", LIBRARY_CLIENTS)
def test_same_answers_as_the_pipelined_client(stack: Settings, kind: str) -> None:
    url = with_redis_db(stack.redis_url, REDIS_DB)
    writer = redis.Redis.from_url(url)
    prefix = f"clients-test:{uuid.uuid4()}:"
    values = {f"{prefix}{i}": uuid.uuid4().bytes * (i + 1) for i in range(50)}
    values[f"{prefix}json"] = b'{"movie_ids":[1,2],"scores":[0.5,0.25]}'
    try:
        writer.mset(values)
        keys = [*values, f"{prefix}missing"]
        expected = asyncio.run(_answers(url, "pipelined", keys))
        assert expected == [*values.values(), None]
        assert asyncio.run(_answers(url, kind, keys)) == expected
        # the database of the URL is the one read
        other = with_redis_db(stack.redis_url, REDIS_DB + 1)
        assert asyncio.run(_answers(other, kind, keys[:1])) == [None]
    finally:
        writer.delete(*values)
        writer.close()


@pytest.mark.parametrize("kind", list(CLIENTS.values()))
def test_an_unreachable_server_is_an_exception(kind: str) -> None:
    async def attempt() -> BaseException | None:
        client = open_get_client(f"redis://127.0.0.1:{closed_port()}/0", kind, timeout_s=1.0)
        get = asyncio.ensure_future(client.get("k"))
        try:
            done, _ = await asyncio.wait([get], timeout=10)
            assert done, "the get hung instead of failing"
            return get.exception()
        finally:
            get.cancel()
            await client.aclose()

    # any exception will do: the reader answers every Redis error from its fallbacks
    assert isinstance(asyncio.run(attempt()), Exception)


def test_an_unknown_client_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown Redis client"):
        open_get_client("redis://127.0.0.1:1/0", "nope")
