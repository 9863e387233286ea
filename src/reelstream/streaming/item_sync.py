"""The transport of shared item state: every worker publishes its deltas to one topic and
reads everyone's.

``<ratings topic>.items`` (``ratings.items``) has one partition, read by every worker in
full with no consumer group (a group would hand each delta to one member only). A reader
thread decodes the others' deltas into a queue; between two batches the processor applies
what arrived and publishes its own (:meth:`KafkaItemSync.exchange`). Deltas are
best-effort, as the promotion is the point where every worker is re-based: a delta lost
with a dying worker or a broker restart only leaves the others' copies of those movies a
little behind until the movies are learned again or the next champion arrives.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from dataclasses import dataclass

from reelstream.item_sync import ItemDelta, ItemJournal, apply_delta
from reelstream.settings import Settings

__all__ = ["ExchangeStats", "KafkaItemSync", "apply_while_idle", "items_topic"]

log = logging.getLogger(__name__)


def items_topic(settings: Settings) -> str:
    return f"{settings.ratings_topic}.items"


@dataclass
class ExchangeStats:
    applied: int = 0  # deltas of other workers applied
    events: int = 0  # their events
    published: int = 0
    max_age_s: float = 0.0  # oldest applied delta: publish → apply


class KafkaItemSync:
    """Publish this worker's item deltas; apply the other workers'."""

    def __init__(self, settings: Settings, publisher: str) -> None:
        from kafka import KafkaConsumer, TopicPartition

        from reelstream.kafka import bootstrap_servers, ensure_topics, make_producer

        self.publisher = publisher
        self.topic = items_topic(settings)
        ensure_topics(settings, {self.topic: 1})
        self._producer = make_producer(settings, client_id=f"{publisher}-items")
        self._consumer = KafkaConsumer(
            bootstrap_servers=bootstrap_servers(settings),
            group_id=None,
            enable_auto_commit=False,
            fetch_max_wait_ms=50,
            request_timeout_ms=max(settings.kafka_request_timeout_ms, 11000),
            client_id=f"{publisher}-items-reader",
        )
        partition = TopicPartition(self.topic, 0)
        self._consumer.assign([partition])
        # From now on: what came before is in this worker's checkpoint or the champion.
        self._consumer.seek_to_end(partition)
        self._consumer.position(partition)
        self._arrived: queue.Queue[ItemDelta] = queue.Queue()
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, name="item-sync", daemon=True)
        self._reader.start()
        self.totals = ExchangeStats()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                polled = self._consumer.poll(timeout_ms=200)
            except Exception:  # noqa: BLE001 - a broker outage: wait it out, never stop
                log.warning("item deltas: reading failed; retrying", exc_info=True)
                time.sleep(1.0)
                continue
            for records in polled.values():
                for record in records:
                    if record.key == self.publisher.encode():
                        continue  # our own
                    try:
                        self._arrived.put(ItemDelta.from_bytes(record.value))
                    except Exception:  # noqa: BLE001 - a malformed delta is skipped, logged
                        log.exception("item deltas: skipping an unreadable message")

    @property
    def pending(self) -> bool:
        """Deltas arrived and not applied yet."""
        return not self._arrived.empty()

    def exchange(self, model) -> ExchangeStats:  # noqa: ANN001
        """Apply the deltas that arrived, then publish this worker's since the last call.

        A model without a journal (just built, restored or promoted) gets one first: what it
        learned before is not shared (a checkpoint's or a champion's state is already, or
        will be, everyone's)."""
        stats = ExchangeStats()
        now = time.time()
        if model.item_journal is None:
            model.item_journal = ItemJournal(self.publisher)
        while True:
            try:
                delta = self._arrived.get_nowait()
            except queue.Empty:
                break
            stats.events += apply_delta(model, delta)
            stats.applied += 1
            stats.max_age_s = max(stats.max_age_s, now - delta.created_at)
        own = model.item_journal.collect(model)
        if own is not None:
            try:
                self._producer.send(self.topic, key=self.publisher.encode(), value=own.to_bytes())
                stats.published = 1
            except Exception:  # noqa: BLE001 - best-effort: never stops the batch
                log.warning("item deltas: publishing failed; this batch's stays local", exc_info=True)
        self.totals.applied += stats.applied
        self.totals.events += stats.events
        self.totals.published += stats.published
        self.totals.max_age_s = max(self.totals.max_age_s, stats.max_age_s)
        return stats

    def close(self) -> None:
        t = self.totals
        log.info(
            "item sync: applied %d deltas (%d events) of other workers, published %d; "
            "oldest delta on arrival %.0f ms",
            t.applied, t.events, t.published, 1000 * t.max_age_s,
        )
        self._stop.set()
        self._reader.join(timeout=5)
        try:
            self._producer.flush(timeout=5)
        finally:
            self._producer.close(timeout=5)
            self._consumer.close()


async def apply_while_idle(processor, lock: asyncio.Lock, every_s: float = 0.5) -> None:  # noqa: ANN001
    """Apply the deltas that arrive while no batch comes (a quiet stream, the end of a
    replay): batches exchange as they go, this covers the gaps between them."""
    while True:
        await asyncio.sleep(every_s)
        sync = processor.item_sync
        if sync is None or not sync.pending:
            continue
        async with lock:  # never between a batch's learning and its Redis writes
            processor._exchange_items()
