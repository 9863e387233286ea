"""Every adjustment this project makes to Faust, applied to one app by :func:`tune`.

``stream_processor/app.py`` builds a plain ``faust.App(...)``; :func:`tune` then changes, for
that app only:

* **the consumer's fetch wait and minimum size**: Faust's aiokafka driver always passes
  ``fetch_max_wait_ms=1500`` and no ``fetch_min_bytes`` (so 1), and has no setting for
  either; a fetch in flight holds back records of the partitions it does not cover until it
  returns, so the wait shows in how fresh a recommendation is, and with a minimum of one
  byte a steady stream of posts is fetched a record or two at a time, each fetch costing the
  worker and the broker as much as a full one (measured: docs/performance.md).
  :class:`_TunedConsumerThread` sets the configured values on the consumer it creates,
  before that consumer starts;
* **direct delivery**: Faust's fetch loop (``Consumer._drain_messages``) delivers each message
  through ``wait_first``, which wraps four awaitables in tasks per message.
  :class:`DirectDeliveryConsumer` awaits the delivery itself, after making sure it cannot
  stop half-way: while a stream's queue (or the producer buffer) is full it waits *before*
  delivering, so a rebalance that begins meanwhile finds nothing half-delivered. A delivery
  caught by a rebalance would land in the stream after the rebalance cleared it, be skipped
  as stale and acknowledged, and that acknowledgement would commit past the messages the
  rebalance threw away: they would be lost to every worker. While the flow is suspended it
  keeps ``wait_first``. The loop is otherwise Faust's, line for line;
* **a full stream buffer**: when a stream's buffer fills, Faust stops fetching its partitions
  until the buffer has drained half-way; meanwhile a fetch covers only the other partitions
  (with nothing to fetch, it sleeps) and waits up to a second for them. A catching-up worker
  drains that half in a fraction of the second, then sat idle (about 0.5 s after every
  25,000 events). While a partition waits for its buffer, :class:`DirectDeliveryConsumer`
  waits at most :data:`BUFFER_RECHECK_S` before looking again (``_wait_next_records`` is
  otherwise Faust's, line for line);
* **partitions never committed**: Faust rewinds a partition to its committed offset after
  records of it were fetched and then dropped (fetched while a rebalance stopped the flow);
  aiokafka's ``seek_to_committed`` leaves a partition without a committed offset where it
  is, past the dropped records. A partition a worker was killed on before its first commit
  then went unread by its next owner. :class:`DirectDeliveryConsumer` rewinds such
  partitions to their first record, where ``auto_offset_reset="earliest"`` started them;
* **the producer buffer**: before delivering each message the conductor awaits
  ``producer.buffer.wait_until_ebb()``, whose ``size`` looks ``producer_threaded`` up in the
  settings registry every time; :class:`UnthreadedProducerBuffer` counts its queue directly;
* **the monitor**: :class:`BatchMonitor` drops the four per-message statistics hooks (this
  worker has no Faust web views or StatsD; its metrics are Prometheus counters kept per batch);
* **the table manager**: :class:`TablelessTableManager` skips the 1 s wait for tables to
  register (this app keeps none: the model lives in the processor process);
* **the committed offsets**: Faust has no public way to read what its consumer last
  committed; :func:`committed_offset` reads it, for the worker's consumer lag.

Their cost is in ``docs/performance.md``. They rely on Faust internals, so they are written
against one version, :data:`FAUST_VERSION`; ``tests/reelstream/streaming/test_faust_tuning.py``
fails when the installed version or the internals it relies on change.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
from typing import Any

import faust
from faust.sensors import Monitor
from faust.tables import TableManager
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaDriverConsumer
from faust.transport.drivers.aiokafka import Producer as AIOKafkaDriverProducer
from faust.transport.producer import ProducerBuffer

__all__ = [
    "FAUST_VERSION",
    "committed_offset",
    "tune",
    "DirectDeliveryConsumer",
    "UnthreadedProducerBuffer",
    "BatchMonitor",
    "TablelessTableManager",
]

log = logging.getLogger(__name__)

#: The faust-streaming release these adjustments were written against.
FAUST_VERSION = "0.15.3"

#: How often a delivery waiting for room in a full stream queue looks again (the stream is
#: then thousands of messages behind, so a millisecond or two is no delay).
_ROOM_POLL_S = 0.002

#: While a stream's buffer is too full to fetch its partitions, how often the consumer looks
#: whether it has drained (Faust: after up to a second).
BUFFER_RECHECK_S = 0.01


def tune(
    app: faust.App, *, fetch_max_wait_ms: int | None = None, fetch_min_bytes: int | None = None
) -> faust.App:
    """Apply every adjustment to ``app`` (before its worker starts, before anything reads
    ``app.monitor`` or ``app.tables``); ``None`` keeps Faust's fetch wait or minimum size."""
    installed = importlib.metadata.version("faust-streaming")
    if installed != FAUST_VERSION:
        log.warning(
            "faust-streaming %s is installed; reelstream's Faust adjustments were written "
            "for %s (reelstream.streaming.faust_tuning)", installed, FAUST_VERSION,
        )
    if app.conf.producer_threaded:
        raise ValueError("the unthreaded producer buffer needs producer_threaded=False")
    if app.conf.consumer_auto_offset_reset != "earliest":
        raise ValueError("partitions never committed are rewound to their first record: "
                         "consumer_auto_offset_reset must be 'earliest'")
    if app._monitor is not None or "tables" in app.__dict__:
        raise RuntimeError("tune the app before its monitor or table manager is created")
    transport = app.transport
    for role, driver in (("Consumer", AIOKafkaDriverConsumer), ("Producer", AIOKafkaDriverProducer)):
        if not issubclass(getattr(transport, role), driver):
            raise TypeError(f"needs Faust's aiokafka driver, not {getattr(transport, role)}")
    transport.Consumer = type(
        "TunedConsumer",
        (DirectDeliveryConsumer,),
        {"fetch_max_wait_ms": fetch_max_wait_ms, "fetch_min_bytes": fetch_min_bytes},
    )
    transport.Producer = UnthreadedBufferProducer
    app.conf.Monitor = BatchMonitor
    app.conf.TableManager = TablelessTableManager
    return app


def committed_offset(consumer: Any, tp: Any) -> int | None:
    """The offset ``consumer`` (the app's Faust consumer) last committed for partition ``tp``."""
    return consumer._committed_offset.get(tp)


def read_offset(consumer: Any, tp: Any) -> int | None:
    """The offset of the last message ``consumer`` handed to its stream from partition ``tp``."""
    return consumer._read_offset.get(tp)


# -- consumer -------------------------------------------------------------------------------
class _TunedConsumerThread(AIOKafkaConsumerThread):
    """Faust's consumer thread, giving the aiokafka consumer it creates the configured wait
    and minimum fetch size."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        wait_ms = getattr(self.consumer, "fetch_max_wait_ms", None)
        if wait_ms is not None:
            consumer._fetch_max_wait_ms = wait_ms  # read when the consumer starts
        min_bytes = getattr(self.consumer, "fetch_min_bytes", None)
        if min_bytes is not None:
            consumer._fetch_min_bytes = min_bytes
        return consumer


class DirectDeliveryConsumer(AIOKafkaDriverConsumer):
    """Faust's aiokafka consumer with the per-message ``wait_first`` skipped and a fetch
    that looks again soon while a stream's buffer is full (see module)."""

    fetch_max_wait_ms: int | None = None
    fetch_min_bytes: int | None = None

    async def _wait_next_records(self, timeout: float) -> tuple[Any, Any]:
        if self._buffered_partitions:  # Faust waits the whole timeout (module docstring)
            timeout = min(timeout, BUFFER_RECHECK_S)
        if not self.flow_active:
            await self.wait(self.can_resume_flow)
        try:
            self.not_waiting_next_records.set()
            is_client_only = self.app.client_only
            active_partitions = None if is_client_only else self._get_active_partitions()
            records: Any = {}
            if is_client_only or active_partitions:
                records = await self._getmany(
                    active_partitions=active_partitions, timeout=timeout
                )
            else:
                await self.sleep(min(1.0, timeout))  # Faust: ``self.sleep(1)``
            return records, active_partitions
        finally:
            self.not_waiting_next_records.set()

    def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
        return _TunedConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def seek_to_committed(self) -> Any:
        """Faust's seek, and partitions never committed back to their first record."""
        committed = await super().seek_to_committed()
        never = [tp for tp, offset in committed.items() if not offset]  # aiokafka skips 0 too
        if never:
            await self._thread.seek_to_beginning(*never)
        return committed

    def _delivery_would_wait(self, tp: Any) -> bool:
        """Whether the conductor, handed a message of ``tp`` now, would wait before it is in
        every stream's queue: a full queue, a full producer buffer, or its subscriptions being
        updated; a suspended flow is the caller's check."""
        topics = self.app.topics
        buffer = self.app.producer.buffer
        return (
            any(channel.queue.full() for channel in topics._tp_index.get(tp, ()))
            or buffer.size > buffer.max_messages
            or topics._tp_to_callback_lock.locked()
        )

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
                            while not suspended() and self._delivery_would_wait(tp):
                                await sleep(_ROOM_POLL_S)  # here a rebalance can still stop it
                            if suspended():
                                await self.wait_first(callback(message), self.suspend_flow.wait())
                            else:
                                await callback(message)  # cannot wait: nothing else runs meanwhile
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


# -- producer -------------------------------------------------------------------------------
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


# -- monitor and tables ---------------------------------------------------------------------
class BatchMonitor(Monitor):
    """Faust's monitor with the per-message hooks switched off; the rest (commits, sends,
    rebalances: per batch, not per message) stays."""

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        return None

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> None:
        return None

    def on_stream_event_out(
        self, tp: Any, offset: int, stream: Any, event: Any, state: Any = None
    ) -> None:
        return None

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        return None


class TablelessTableManager(TableManager):
    """Faust's table manager without the start-up wait for tables to register."""

    async def on_start(self) -> None:
        if len(self):  # someone registered a table after all: keep Faust's behaviour
            await super().on_start()
            return
        await self._update_channels()
        await self.recovery.start()
