"""The Faust app's configuration (no broker needed)."""

from __future__ import annotations

import asyncio

import pytest


def test_worker_consumers_use_the_configured_fetch_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    import aiokafka

    from reelstream.kafka import use_fetch_max_wait

    monkeypatch.setattr(aiokafka, "AIOKafkaConsumer", aiokafka.AIOKafkaConsumer)  # restored after
    use_fetch_max_wait(7)

    async def make() -> int:
        # what Faust's driver does: it passes 1500 ms, always
        consumer = aiokafka.AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1", fetch_max_wait_ms=1500)
        try:
            return consumer._fetch_max_wait_ms
        finally:
            await consumer.stop()

    assert asyncio.run(make()) == 7


def test_the_app_takes_group_and_timeouts_from_settings() -> None:
    from stream_processor.app import app, settings

    assert app.conf.id == settings.consumer_group
    assert app.conf.broker_session_timeout == settings.kafka_session_timeout_ms / 1000
    assert app.conf.broker_rebalance_timeout == settings.kafka_rebalance_timeout_ms / 1000


def test_the_app_hands_messages_to_streams_directly() -> None:
    from reelstream.streaming.faust_consumer import DirectDeliveryConsumer
    from stream_processor.app import app

    assert app.transport.Consumer is DirectDeliveryConsumer


def test_direct_delivery_awaits_each_message_and_keeps_wait_first_while_suspended() -> None:
    """Faust's fetch loop, driven by a fake fetch: every message is delivered once, in order;
    ``wait_first`` (Faust's suspendable path) is used only while the flow is suspended."""
    from types import SimpleNamespace

    import faust
    from faust.types import TP

    from reelstream.streaming.faust_consumer import use_direct_delivery

    async def run() -> tuple[list[int], list[int]]:
        app = faust.App("direct-delivery-test", broker="kafka://127.0.0.1:1", web_enabled=False)
        use_direct_delivery(app)
        delivered: list[int] = []
        via_wait_first: list[int] = []
        fetcher = SimpleNamespace(_stopped=asyncio.Event())

        async def callback(message) -> None:
            delivered.append(message.offset)
            if message.offset == 2:
                consumer.suspend_flow.set()  # e.g. a rebalance starts

        async def ignore_partitions(*args) -> None:
            return None

        consumer = app.transport.create_consumer(
            callback=callback,
            on_partitions_revoked=ignore_partitions,
            on_partitions_assigned=ignore_partitions,
        )
        tp = TP("ratings", 0)

        async def getmany(timeout: float):
            for offset in range(5):
                yield tp, SimpleNamespace(offset=offset, topic="ratings")
            fetcher._stopped.set()

        async def wait_first(*coros, timeout=None):
            via_wait_first.append(delivered[-1] + 1 if delivered else 0)
            coros[1].close()  # the suspend_flow.wait() coroutine
            await coros[0]

        consumer.getmany = getmany
        consumer.wait_first = wait_first
        await consumer._drain_messages(fetcher)
        return delivered, via_wait_first

    delivered, via_wait_first = asyncio.run(run())
    assert delivered == [0, 1, 2, 3, 4]
    assert via_wait_first == [3, 4]


def test_the_app_keeps_no_per_message_statistics() -> None:
    from faust.types import TP

    from reelstream.streaming.faust_monitor import BatchMonitor
    from stream_processor.app import app

    assert isinstance(app.monitor, BatchMonitor)
    app.monitor.on_message_in(TP("ratings", 0), 0, object())
    assert app.monitor.messages_received_total == 0  # Faust's own monitor would count it


def test_the_producer_buffer_counts_its_queue_without_a_settings_lookup() -> None:
    import faust

    from reelstream.streaming.faust_producer import (
        UnthreadedProducerBuffer,
        use_unthreaded_producer_buffer,
    )
    from stream_processor.app import app

    buffer = app.producer.buffer
    assert isinstance(buffer, UnthreadedProducerBuffer)
    assert buffer.size == 0
    buffer.pending.put_nowait(object())  # what send_soon() queues
    try:
        assert buffer.size == 1
        asyncio.run(buffer.wait_until_ebb())  # far below max_messages: returns at once
    finally:
        buffer.pending.get_nowait()

    threaded = faust.App("threaded-producer-test", producer_threaded=True, web_enabled=False)
    with pytest.raises(ValueError, match="producer_threaded"):
        use_unthreaded_producer_buffer(threaded)
