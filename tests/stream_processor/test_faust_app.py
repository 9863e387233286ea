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
