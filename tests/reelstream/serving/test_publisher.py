"""The API's producer: its settings come from ``Settings`` (pure: no broker)."""

from __future__ import annotations

from reelstream.serving.publisher import _default_factory
from reelstream.settings import Settings


def test_the_api_producer_waits_the_configured_linger_and_the_broker_acknowledgement(
    monkeypatch,
):
    made: dict = {}

    class Recorder:
        def __init__(self, **kwargs) -> None:
            made.update(kwargs)

    monkeypatch.setattr("aiokafka.AIOKafkaProducer", Recorder)
    _default_factory(Settings(api_producer_linger_ms=7), timeout_s=2.0)()
    assert made["linger_ms"] == 7 and made["acks"] == "all"
    assert made["request_timeout_ms"] == 2000
