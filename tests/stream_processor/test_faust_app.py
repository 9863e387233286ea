"""The Faust app's configuration (no broker needed)."""

from __future__ import annotations

import asyncio

import pytest


def test_the_app_s_consumer_gets_the_configured_fetch_wait_and_size() -> None:
    """Faust passes 1500 ms and no minimum size to aiokafka; the tuned consumer thread sets
    the configured ones on the consumer it creates (this app's only: aiokafka's class is left
    as it is)."""
    import aiokafka

    from stream_processor.app import app, settings

    async def ignore_partitions(*args) -> None:
        return None

    async def make() -> tuple[int, int, type]:
        consumer = app.transport.create_consumer(
            callback=ignore_partitions,
            on_partitions_revoked=ignore_partitions,
            on_partitions_assigned=ignore_partitions,
        )
        created = consumer._thread._create_worker_consumer(app.transport)
        try:
            return created._fetch_max_wait_ms, created._fetch_min_bytes, type(created)
        finally:
            await created.stop()

    wait_ms, min_bytes, created_type = asyncio.run(make())
    assert wait_ms == settings.kafka_fetch_max_wait_ms != 1500
    assert min_bytes == settings.kafka_fetch_min_bytes != 1
    assert created_type is aiokafka.AIOKafkaConsumer


def test_the_app_takes_group_and_timeouts_from_settings() -> None:
    from stream_processor.app import app, settings

    assert app.conf.id == settings.consumer_group
    assert app.conf.broker_session_timeout == settings.kafka_session_timeout_ms / 1000
    assert app.conf.broker_rebalance_timeout == settings.kafka_rebalance_timeout_ms / 1000


def test_the_app_hands_messages_to_streams_directly() -> None:
    from reelstream.streaming.faust_tuning import DirectDeliveryConsumer
    from stream_processor.app import app

    assert issubclass(app.transport.Consumer, DirectDeliveryConsumer)


def test_direct_delivery_awaits_each_message_and_keeps_wait_first_while_suspended() -> None:
    """Faust's fetch loop, driven by a fake fetch: every message is delivered once, in order;
    ``wait_first`` (Faust's suspendable path) is used only while the flow is suspended."""
    from types import SimpleNamespace

    import faust
    from faust.types import TP

    from reelstream.streaming.faust_tuning import tune

    async def run() -> tuple[list[int], list[int]]:
        app = faust.App("direct-delivery-test", broker="kafka://127.0.0.1:1", web_enabled=False)
        tune(app)
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

    from reelstream.streaming.faust_tuning import BatchMonitor
    from stream_processor.app import app

    assert isinstance(app.monitor, BatchMonitor)
    app.monitor.on_message_in(TP("ratings", 0), 0, object())
    assert app.monitor.messages_received_total == 0  # Faust's own monitor would count it


def test_the_producer_buffer_counts_its_queue_without_a_settings_lookup() -> None:
    import faust

    from reelstream.streaming.faust_tuning import UnthreadedProducerBuffer, tune
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
        tune(threaded)
