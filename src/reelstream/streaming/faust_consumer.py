"""A Faust consumer that hands fetched messages to the streams without four tasks each.

Faust's fetch loop (``Consumer._drain_messages``, faust-streaming 0.15.3) delivers every
message with ``await self.wait_first(callback(message), self.suspend_flow.wait())``. For each
message ``wait_first`` wraps four awaitables in tasks (the delivery, the suspend flag, the
stopped and crashed flags), waits for the first and cancels the rest. On this project's
2-core machine that was the largest single cost of a Faust worker: a counting agent went
from ~6,000 to ~10,500 messages/s and the worker from ~2,600 to ~4,000 events/s without it
(``reelstream bench stream``).

:class:`DirectDeliveryConsumer` awaits the delivery directly while the flow runs. The delivery
is the conductor putting the event on each subscribed stream's queue; it only waits when a
queue is full, and the streams keep draining their queues (skipping stale events) while the
flow is suspended, so it cannot hang a rebalance. While the flow *is* suspended it keeps
Faust's ``wait_first``. The loop is otherwise Faust's, line for line.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaDriverConsumer

__all__ = ["DirectDeliveryConsumer", "use_direct_delivery"]


class DirectDeliveryConsumer(AIOKafkaDriverConsumer):
    """Faust's aiokafka consumer with the per-message ``wait_first`` skipped (see module)."""

    async def _drain_messages(self, fetcher: Any) -> None:
        callback = self.callback
        getmany = self.getmany
        consumer_should_stop = self._stopped.is_set
        fetcher_should_stop = fetcher._stopped.is_set
        suspended = self.suspend_flow.is_set

        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        set_flag = self.diag.set_flag
        unset_flag = self.diag.unset_flag
        commit_every = self._commit_every
        acks_enabled_for = self.app.topics.acks_enabled_for

        yield_every = 100
        num_since_yield = 0
        sleep = asyncio.sleep

        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(CONSUMER_FETCHING)
                ait = getmany(timeout=1.0)
                await self.sleep(0)
                if not self.should_stop:
                    async for tp, message in ait:
                        num_since_yield += 1
                        if num_since_yield > yield_every:
                            await sleep(0)
                            num_since_yield = 0
                        offset = message.offset
                        r_offset = get_read_offset(tp)
                        if r_offset is None or offset >= r_offset:
                            gap = offset - (r_offset or 0)
                            if gap > 1 and r_offset and acks_enabled_for(message.topic):
                                await self._add_gap(tp, r_offset + 1, offset)
                            if commit_every is not None and self._n_acked >= commit_every:
                                self._n_acked = 0
                                await self.commit()
                            if suspended():
                                await self.wait_first(callback(message), self.suspend_flow.wait())
                            else:
                                await callback(message)
                            set_read_offset(tp, offset)
                        else:
                            self.log.dev("DROPPED MESSAGE ROFF %r", offset)
                    unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            unset_flag(CONSUMER_FETCHING)


def use_direct_delivery(app: faust.App) -> None:
    """Make ``app`` create :class:`DirectDeliveryConsumer` (call before the worker starts)."""
    transport = app.transport
    if not issubclass(transport.Consumer, AIOKafkaDriverConsumer):
        raise TypeError(f"direct delivery needs Faust's aiokafka driver, not {transport.Consumer}")
    transport.Consumer = DirectDeliveryConsumer
