"""The processor process: batches sent over the socket pair, outcomes back in order, a
checkpoint on close, and a dead child reported instead of a hang (real PostgreSQL/Redis)."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from reelstream.store import EventStore
from reelstream.streaming.messages import RawMessage
from reelstream.streaming.processor_child import ProcessorChild, ProcessorDied

from tests.reelstream.streaming.test_processor import make_events, messages


def test_pipelined_batches_come_back_in_order_and_close_checkpoints(worker_settings) -> None:
    events = make_events(120)
    first = messages(events[:60])
    bad = RawMessage(value=b'{"user_id": "x"}', topic="ratings", partition=0, offset=60)
    second = [*messages(events[60:], offset=61), bad, messages(events[:1])[0]]  # + a duplicate

    async def run():
        child = await ProcessorChild(worker_settings).start()
        try:
            pending = [await child.submit_batch(first), await child.submit_batch(second)]
            outcomes = [await p for p in pending]
        finally:
            await child.close()
        return outcomes

    one, two = asyncio.run(run())
    assert (one.stored, one.duplicates, one.dead_letters) == (60, 0, [])
    assert (two.stored, two.duplicates) == (60, 1)
    assert [letter.message for letter in two.dead_letters] == [bad]  # the very message sent
    assert two.dead_letters[0].stage == "validate"
    with EventStore(worker_settings.postgres_dsn) as store:
        assert store.count_ratings() == 120
        checkpoint = store.load_checkpoint(worker_settings.worker_id)
    assert checkpoint is not None and checkpoint.events_learned == 120


def test_a_killed_child_fails_the_batch_in_flight(worker_settings) -> None:
    async def run():
        child = await ProcessorChild(worker_settings).start()
        await child.handle(messages(make_events(5)))  # started and answering
        os.kill(child.pid, signal.SIGKILL)
        with pytest.raises(ProcessorDied, match="gone"):
            await (await child.submit_batch(messages(make_events(5, seed=1))))
        with pytest.raises(ProcessorDied):
            await child.submit_batch(messages(make_events(5, seed=2)))  # and stays failed

    asyncio.run(run())


def test_a_batch_failing_as_a_whole_is_narrowed_to_the_failing_message(worker_settings) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from reelstream.cache import RecommendationCache
    from reelstream.streaming.isolation import Isolating
    from tests.reelstream.streaming.test_processor import make_processor

    events = make_events(30)
    cache = RecommendationCache.from_settings(worker_settings)
    processor = make_processor(worker_settings, cache)
    poison = events[12]
    apply = processor.apply

    def exploding(prepared):  # an unexpected failure no per-message check knows of
        if any(e.event_id == poison.event_id for e, _ in prepared.stored):
            raise RuntimeError("boom")
        return apply(prepared)

    processor.apply = exploding
    batch = messages(events)

    async def run():
        preparer = ThreadPoolExecutor(1)
        loop = asyncio.get_running_loop()
        isolating = Isolating(processor, asyncio.Lock(), preparer)
        return await isolating.batch(batch, loop.run_in_executor(preparer, processor.prepare, batch))

    outcome = asyncio.run(run())
    assert [letter.message for letter in outcome.dead_letters] == [batch[12]]
    assert outcome.dead_letters[0].error == "RuntimeError: boom"
    assert processor.store.count_ratings() == 30  # the failed attempt stored it; no loss
    assert processor.model.events_learned == 29  # each learned once, the poison not at all
    cache.close()
