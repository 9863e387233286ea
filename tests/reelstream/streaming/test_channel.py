"""AsyncConnection: a multiprocessing Connection used from asyncio (pure: one process)."""

from __future__ import annotations

import asyncio
from multiprocessing import Pipe

import pytest

from reelstream.streaming.channel import AsyncConnection


def test_messages_arrive_whole_and_in_order_both_ways():
    async def run():
        a, b = Pipe()
        left, right = AsyncConnection(a), AsyncConnection(b)
        big = bytes(range(256)) * 4096  # larger than a socket buffer: sent while being read
        for i in range(20):
            await left.send(("batch", i, big))
        got = [await right.recv() for _ in range(20)]
        await right.send(("ok", 1))
        reply = await left.recv()
        left.close()
        right.close()
        return got, reply

    got, reply = asyncio.run(run())
    assert [g[1] for g in got] == list(range(20))
    assert all(len(g[2]) == 256 * 4096 for g in got)
    assert reply == ("ok", 1)


def test_the_other_end_closing_is_an_eof_every_time_after():
    async def run():
        a, b = Pipe()
        left, right = AsyncConnection(a), AsyncConnection(b)
        right.close()
        with pytest.raises(EOFError):
            await left.recv()
        with pytest.raises(EOFError):
            await left.recv()
        with pytest.raises(OSError):
            for _ in range(100):  # the kernel may buffer a first send
                await left.send(b"x" * 65536)
        left.close()

    asyncio.run(run())


def test_the_worker_s_typed_messages_cross_the_channel_as_they_are():
    from reelstream.streaming.messages import (
        BatchOutcome,
        BatchRequest,
        DeadLetter,
        RawMessage,
        StatusReport,
    )

    messages = [RawMessage(b'{"x": 1}', b"7", "ratings", 2, offset) for offset in range(3)]
    outcome = BatchOutcome(stored=2, dead_letters=[DeadLetter(messages[1], "bad", "validate")])

    async def run():
        a, b = Pipe()
        left, right = AsyncConnection(a), AsyncConnection(b)
        await left.send(BatchRequest(messages))
        await left.send(StatusReport({"lag": {0: 5}}))
        got = [await right.recv(), await right.recv()]
        await right.send(outcome)
        reply = await left.recv()
        left.close()
        right.close()
        return got, reply

    (request, status), reply = asyncio.run(run())
    assert request == BatchRequest(messages) and status == StatusReport({"lag": {0: 5}})
    assert reply == outcome and reply.dead_letters[0].message == messages[1]
