"""Helpers of ``reelstream bench freshness`` and ``bench api`` (no timing is asserted)."""

from __future__ import annotations

import asyncio
import math

import pytest

from benchmarks.freshness import freshness_summary, split_users


def test_split_users_is_disjoint_complete_and_seeded() -> None:
    users = list(range(1, 101))
    sample, background = split_users(users, 0.5, seed=3)
    assert set(sample).isdisjoint(background) and set(sample) | set(background) == set(users)
    assert len(sample) == 50
    assert split_users(users, 0.5, seed=3) == (sample, background)
    assert split_users([1, 2], 0.99, seed=0)[1]  # background never empty
    with pytest.raises(ValueError):
        split_users([1], 0.5, seed=0)


def test_freshness_summary() -> None:
    summary = freshness_summary([float(x) for x in range(1, 101)])
    assert summary["p50"] == pytest.approx(50.5)
    assert summary["p50"] <= summary["p95"] <= summary["p99"] <= 100
    assert all(math.isnan(v) for v in freshness_summary([]).values())


def test_raw_client_posts_and_reads_bodies() -> None:
    from benchmarks.http_load import RawHttpClient

    async def run() -> tuple[int, bytes, bytes]:
        seen: list[bytes] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            seen.append(head + await reader.readexactly(length))
            writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = RawHttpClient(f"http://127.0.0.1:{port}")
        status, body = await client.request("POST", "/ratings", b'{"a":1}', {"X-API-Key": "k"})
        await client.aclose()
        server.close()
        return status, body, seen[0]

    status, body, request = asyncio.run(run())
    assert (status, body) == (202, b"ok")
    assert request.startswith(b"POST /ratings HTTP/1.1\r\n") and request.endswith(b'{"a":1}')
    assert b"X-API-Key: k\r\n" in request
