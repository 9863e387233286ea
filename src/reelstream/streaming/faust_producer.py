"""A Faust producer whose buffer answers "how full am I?" without reading settings.

Before every message it delivers, Faust's conductor awaits
``app.producer.buffer.wait_until_ebb()``, whose ``size`` reads ``app.conf.producer_threaded``
through Faust's settings registry each time (faust-streaming 0.15.3). A py-spy profile of
the worker's Faust process at full load put ~7% of its time there. This app never uses the
threaded producer, so :class:`UnthreadedProducerBuffer` counts its pending queue directly.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.transport.drivers.aiokafka import Producer as AIOKafkaDriverProducer
from faust.transport.producer import ProducerBuffer

__all__ = ["UnthreadedProducerBuffer", "use_unthreaded_producer_buffer"]


class UnthreadedProducerBuffer(ProducerBuffer):
    """Faust's producer buffer for ``producer_threaded=False`` (the default)."""

    @property
    def size(self) -> int:
        return len(self.pending._queue)  # type: ignore[attr-defined]

    async def wait_until_ebb(self) -> None:
        if self.size > self.max_messages:
            await super().wait_until_ebb()


class UnthreadedBufferProducer(AIOKafkaDriverProducer):
    """Faust's aiokafka producer with an :class:`UnthreadedProducerBuffer`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        buffer = UnthreadedProducerBuffer(loop=self.loop, beacon=self.beacon)
        buffer.app = self.app
        self.buffer = buffer


def use_unthreaded_producer_buffer(app: faust.App) -> None:
    """Make ``app`` create :class:`UnthreadedBufferProducer` (before the worker starts)."""
    if app.conf.producer_threaded:
        raise ValueError("the unthreaded producer buffer needs producer_threaded=False")
    transport = app.transport
    if not issubclass(transport.Producer, AIOKafkaDriverProducer):
        raise TypeError(f"needs Faust's aiokafka driver, not {transport.Producer}")
    transport.Producer = UnthreadedBufferProducer
