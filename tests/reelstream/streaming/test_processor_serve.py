"""The processor process's loop: lists kept waiting under a backlog go out once it is over."""

from __future__ import annotations

import asyncio
from collections import deque
from types import SimpleNamespace

from reelstream.streaming.processor_serve import _next_request


class _Lists:
    def __init__(self, waiting: int, catching_up: bool = False) -> None:
        self.lists_waiting, self.written = waiting, 0
        self.lists = SimpleNamespace(catching_up=catching_up)
        self.due_only: list[bool] = []

    def write_lists(self, *, due_only: bool = False) -> int:
        self.due_only.append(due_only)
        if due_only:  # none has waited its maximum delay yet
            return 0
        self.written, self.lists_waiting = self.written + self.lists_waiting, 0
        return self.written


def test_waiting_lists_are_written_when_no_batch_follows() -> None:
    async def run() -> tuple[tuple, int]:
        requests: asyncio.Queue = asyncio.Queue()
        processor = _Lists(waiting=3)
        asyncio.get_running_loop().call_later(0.2, requests.put_nowait, ("batch",))
        request = await _next_request(requests, deque(), processor, asyncio.Lock())
        return request, processor.written

    assert asyncio.run(run()) == (("batch",), 3)


def test_a_batch_that_follows_at_once_keeps_them_waiting() -> None:
    async def run() -> tuple[tuple, int]:
        requests: asyncio.Queue = asyncio.Queue()
        requests.put_nowait(("batch",))
        processor = _Lists(waiting=3)
        request = await _next_request(requests, deque(), processor, asyncio.Lock())
        return request, processor.written

    assert asyncio.run(run()) == (("batch",), 0)


def test_a_pause_while_catching_up_writes_only_the_lists_that_are_due() -> None:
    async def run() -> tuple[tuple, _Lists]:
        requests: asyncio.Queue = asyncio.Queue()
        processor = _Lists(waiting=3, catching_up=True)
        asyncio.get_running_loop().call_later(0.2, requests.put_nowait, ("batch",))
        request = await _next_request(requests, deque(), processor, asyncio.Lock())
        return request, processor

    request, processor = asyncio.run(run())
    assert request == ("batch",)
    assert processor.written == 0 and processor.lists_waiting == 3
    assert processor.due_only and all(processor.due_only)
