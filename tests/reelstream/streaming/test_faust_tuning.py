"""The Faust adjustments are pinned to the faust-streaming release they were written against.

When faust-streaming is upgraded, these fail first and say what to re-check in
``reelstream.streaming.faust_tuning`` (pure: no broker)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect

import pytest

from reelstream.streaming import faust_tuning

#: sha256 of Faust's own ``Consumer._drain_messages`` in FAUST_VERSION, which
#: ``DirectDeliveryConsumer._drain_messages`` copies line for line but one.
FAUST_DRAIN_SHA256 = "44a2500309e83c630493f6828af50166ec8d96a0b3e4fb2bab735f704ae93417"
#: ... and of ``Consumer._wait_next_records``, which ``DirectDeliveryConsumer`` copies but for
#: how long it waits while a stream's buffer is full.
FAUST_WAIT_NEXT_RECORDS_SHA256 = "6218e1969a636b3ff504ad1b8e7ad58a113572e43d746cc96d684ed5153032c6"


def test_the_installed_faust_is_the_version_the_adjustments_were_written_for():
    installed = importlib.metadata.version("faust-streaming")
    assert installed == faust_tuning.FAUST_VERSION, (
        f"faust-streaming {installed} is installed, but reelstream.streaming.faust_tuning was "
        f"written against {faust_tuning.FAUST_VERSION}: compare DirectDeliveryConsumer."
        "_drain_messages with Faust's Consumer._drain_messages, check the private attributes "
        "listed in this test, re-run `reelstream bench stream`, then update FAUST_VERSION"
    )


@pytest.mark.parametrize(
    ("method", "sha256", "ours"),
    [
        ("_drain_messages", FAUST_DRAIN_SHA256, "FAUST_DRAIN_SHA256"),
        ("_wait_next_records", FAUST_WAIT_NEXT_RECORDS_SHA256, "FAUST_WAIT_NEXT_RECORDS_SHA256"),
    ],
)
def test_faust_s_methods_are_the_ones_that_were_copied(method: str, sha256: str, ours: str):
    from faust.transport.consumer import Consumer

    source = inspect.getsource(getattr(Consumer, method))
    assert hashlib.sha256(source.encode()).hexdigest() == sha256, (
        f"Faust's Consumer.{method} changed: bring its changes into "
        f"reelstream.streaming.faust_tuning.DirectDeliveryConsumer.{method}, then update {ours}"
    )


#: What DirectDeliveryConsumer._drain_messages and _wait_next_records read on the consumer
#: Faust builds.
DRAIN_ATTRIBUTES = (
    "callback", "getmany", "_stopped", "suspend_flow", "_read_offset", "diag", "_commit_every",
    "app", "_add_gap", "_n_acked", "commit", "wait_first", "sleep", "should_stop",
    "consumer_stopped_errors", "transport", "log", "_buffered_partitions", "flow_active",
    "wait", "can_resume_flow", "not_waiting_next_records", "_get_active_partitions",
    "_getmany", "on_buffer_full", "on_buffer_drop",
)


async def _consumer_and_app(name: str):
    import faust

    app = faust_tuning.tune(
        faust.App(name, broker="kafka://127.0.0.1:1", web_enabled=False), fetch_max_wait_ms=5
    )

    async def ignore(*args) -> None:
        return None

    consumer = app.transport.create_consumer(
        callback=ignore, on_partitions_revoked=ignore, on_partitions_assigned=ignore
    )
    return app, consumer


def test_the_faust_internals_relied_on_still_exist():
    import asyncio

    from faust.tables import TableManager
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    app, consumer = asyncio.run(_consumer_and_app("internals-test"))
    missing = [name for name in (*DRAIN_ATTRIBUTES, "_committed_offset") if not hasattr(consumer, name)]
    missing += [
        f"app.topics.{n}"
        for n in ("acks_enabled_for", "_tp_index", "_tp_to_callback_lock")
        if not hasattr(app.topics, n)
    ]
    missing += [f"app.producer.buffer.{n}" for n in ("size", "max_messages") if not hasattr(app.producer.buffer, n)]
    missing += [f"app.{n}" for n in ("_monitor",) if not hasattr(app, n)]
    missing += [
        f"{cls.__name__}.{n}"
        for cls, n in (
            (AIOKafkaConsumerThread, "_create_worker_consumer"),
            (type(consumer), "_new_consumer_thread"),
            (TableManager, "_update_channels"),
        )
        if not hasattr(cls, n)
    ]
    assert not missing, f"Faust internals faust_tuning relies on are gone: {missing}"
    assert isinstance(consumer._thread, faust_tuning._TunedConsumerThread)
    assert faust_tuning.committed_offset(consumer, ("ratings", 0)) is None  # nothing committed


def test_aiokafka_keeps_the_fetch_wait_and_size_where_the_tuned_thread_sets_them():
    import asyncio

    import aiokafka

    async def make() -> tuple[int, int]:
        consumer = aiokafka.AIOKafkaConsumer(
            bootstrap_servers="127.0.0.1:1", fetch_max_wait_ms=9, fetch_min_bytes=77
        )
        try:
            return consumer._fetch_max_wait_ms, consumer._fetch_min_bytes
        finally:
            await consumer.stop()

    assert asyncio.run(make()) == (9, 77)


def test_the_producer_buffer_queue_is_an_asyncio_queue():
    import asyncio

    from faust.transport.producer import ProducerBuffer

    async def pending() -> object:
        return ProducerBuffer().pending

    assert isinstance(asyncio.run(pending()), asyncio.Queue)  # whose ``_queue`` size is read


def test_tuning_an_app_whose_monitor_exists_is_refused():
    import faust

    app = faust.App("tuned-late-test", broker="kafka://127.0.0.1:1", web_enabled=False)
    app.monitor  # noqa: B018 - created now, with Faust's default class
    with pytest.raises(RuntimeError, match="before its monitor"):
        faust_tuning.tune(app)


def test_a_delivery_that_would_wait_is_not_caught_half_way_by_a_rebalance():
    """A message for a full stream queue waits in the fetch loop, not inside the delivery: the
    rebalance that begins meanwhile (flow stopped, queues cleared) leaves it undelivered. Had
    it been delivered then, the stream would skip it as stale and acknowledge it, committing
    past the messages the rebalance cleared."""
    import asyncio
    from types import SimpleNamespace

    import faust
    from faust.types import TP

    tp = TP("ratings", 0)

    async def scenario() -> tuple[list[int], list[int]]:
        app = faust_tuning.tune(faust.App("drain-test", broker="kafka://127.0.0.1:1", web_enabled=False))
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
        queue.put_nowait(-1)  # the stream is behind: its queue is full
        channel = type("Channel", (), {"queue": queue})()  # a stream's channel: hashable
        app.topics._tp_index[tp].add(channel)
        app.flow_control.resume()
        started: list[int] = []

        async def deliver(message) -> None:  # the conductor's path for a full queue
            started.append(message.offset)
            await app.flow_control.acquire()
            await asyncio.wait([asyncio.ensure_future(queue.put(message.offset))])

        async def getmany(timeout: float):
            if not started and not fetched:
                fetched.append(True)
                yield tp, SimpleNamespace(offset=7, topic=tp.topic)
            await asyncio.sleep(0.01)

        fetched: list[bool] = []
        consumer = app.transport.create_consumer(
            callback=deliver, on_partitions_revoked=deliver, on_partitions_assigned=deliver
        )
        consumer.getmany = getmany
        fetcher = SimpleNamespace(_stopped=asyncio.Event())
        draining = asyncio.ensure_future(consumer._drain_messages(fetcher))
        await asyncio.sleep(0.05)
        consumer.stop_flow()  # a rebalance begins, as Faust's revocation does it
        app.flow_control.suspend()
        queue.get_nowait()  # flow_control.clear(): the queue's messages are dropped
        await asyncio.sleep(0.05)
        fetcher._stopped.set()
        await asyncio.wait_for(draining, 1)
        return started, [queue.get_nowait() for _ in range(queue.qsize())]

    started, in_queue = asyncio.run(scenario())
    assert in_queue == [], "a message delivered across the rebalance reached the stream"
    assert len(started) <= 1  # Faust's own path for a suspended flow may start it, never finish it


def test_while_a_stream_buffer_is_full_the_consumer_looks_again_within_the_recheck_time():
    """Faust waits up to the whole timeout on the partitions still fetched (or sleeps 1 s
    with none left); a drained buffer would then sit idle for the rest of it."""
    import asyncio

    from faust.types import TP

    ratings = [TP("ratings", p) for p in range(2)]
    waits: list[tuple[str, float]] = []

    async def wait_for_records() -> None:
        app, consumer = await _consumer_and_app("buffer-full-test")
        consumer._set_active_tps(set(ratings))

        async def getmany(active_partitions, timeout):
            waits.append(("fetch", timeout))
            return {}

        async def sleep(seconds):
            waits.append(("sleep", seconds))

        consumer._getmany, consumer.sleep = getmany, sleep
        await consumer._wait_next_records(1.0)  # both partitions fetched
        consumer.on_buffer_full(ratings[0])
        await consumer._wait_next_records(1.0)  # one partition left to fetch
        consumer.on_buffer_full(ratings[1])
        await consumer._wait_next_records(1.0)  # none left
        consumer.on_buffer_drop(ratings[0])
        consumer.on_buffer_drop(ratings[1])
        await consumer._wait_next_records(1.0)  # both fetched again

    asyncio.run(wait_for_records())
    recheck = faust_tuning.BUFFER_RECHECK_S
    assert waits == [("fetch", 1.0), ("fetch", recheck), ("sleep", recheck), ("fetch", 1.0)]


def test_a_partition_never_committed_is_rewound_to_its_first_record_not_left_where_it_is():
    """Faust rewinds partitions to their committed offsets after dropping fetched records
    (a rebalance stopped the flow); one without a commit would stay past them, unread."""
    import asyncio

    from faust.types import TP

    committed_at, never = TP("ratings", 0), TP("ratings", 1)
    rewound: list[tuple] = []

    async def perform_seek() -> dict:
        app, consumer = await _consumer_and_app("rewind-test")

        async def seek_to_committed():
            return {committed_at: 5, never: None}

        async def seek_to_beginning(*tps):
            rewound.append(tps)

        consumer._thread.seek_to_committed = seek_to_committed
        consumer._thread.seek_to_beginning = seek_to_beginning
        await consumer.perform_seek()
        return dict(consumer._read_offset)

    read = asyncio.run(perform_seek())
    assert rewound == [(never,)]
    assert read[committed_at] == 5 and read[never] is None  # read again from its start


def test_an_app_that_starts_new_partitions_elsewhere_than_their_first_record_is_refused():
    import faust

    app = faust.App("latest-test", broker="kafka://127.0.0.1:1", web_enabled=False,
                    consumer_auto_offset_reset="latest")
    with pytest.raises(ValueError, match="earliest"):
        faust_tuning.tune(app)
