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


def test_the_installed_faust_is_the_version_the_adjustments_were_written_for():
    installed = importlib.metadata.version("faust-streaming")
    assert installed == faust_tuning.FAUST_VERSION, (
        f"faust-streaming {installed} is installed, but reelstream.streaming.faust_tuning was "
        f"written against {faust_tuning.FAUST_VERSION}: compare DirectDeliveryConsumer."
        "_drain_messages with Faust's Consumer._drain_messages, check the private attributes "
        "listed in this test, re-run `reelstream bench stream`, then update FAUST_VERSION"
    )


def test_faust_s_fetch_loop_is_the_one_that_was_copied():
    from faust.transport.consumer import Consumer

    source = inspect.getsource(Consumer._drain_messages)
    assert hashlib.sha256(source.encode()).hexdigest() == FAUST_DRAIN_SHA256, (
        "Faust's Consumer._drain_messages changed: bring its changes into "
        "reelstream.streaming.faust_tuning.DirectDeliveryConsumer._drain_messages, "
        "then update FAUST_DRAIN_SHA256"
    )


@pytest.mark.parametrize(
    ("owner", "attribute"),
    [
        ("faust.transport.consumer:Consumer", "_read_offset"),
        ("faust.transport.consumer:Consumer", "_n_acked"),
        ("faust.transport.consumer:Consumer", "_commit_every"),
        ("faust.transport.consumer:Consumer", "_add_gap"),
        ("faust.transport.consumer:Consumer", "suspend_flow"),
        ("faust.transport.consumer:Consumer", "wait_first"),
        ("faust.transport.drivers.aiokafka:Consumer", "_new_consumer_thread"),
        ("faust.transport.drivers.aiokafka:AIOKafkaConsumerThread", "_create_worker_consumer"),
        ("faust.transport.producer:ProducerBuffer", "wait_until_ebb"),
        ("faust.tables:TableManager", "_update_channels"),
        ("faust.sensors:Monitor", "on_stream_event_out"),
        ("faust.app.base:App", "_monitor"),
    ],
)
def test_the_faust_internals_relied_on_still_exist(owner, attribute):
    import importlib

    module, _, name = owner.partition(":")
    cls = getattr(importlib.import_module(module), name)
    found = hasattr(cls, attribute) or attribute in getattr(cls, "__annotations__", {}) or any(
        attribute in inspect.getsource(klass) for klass in cls.__mro__[:1]
    )
    assert found, f"{owner}.{attribute} is gone: faust_tuning relies on it"


def test_aiokafka_keeps_the_fetch_wait_where_the_tuned_thread_sets_it():
    import asyncio

    import aiokafka

    async def make() -> int:
        consumer = aiokafka.AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1", fetch_max_wait_ms=9)
        try:
            return consumer._fetch_max_wait_ms
        finally:
            await consumer.stop()

    assert asyncio.run(make()) == 9


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
