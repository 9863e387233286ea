"""A store-only consumer: ratings topic → PostgreSQL, nothing else (no model, no cache).

For backfills and for measuring the storage path on its own (``reelstream bench ingest``).
The streaming worker does the same storing plus learning; both commit offsets only after the
rows are stored (at-least-once) and both make duplicates no-ops by ``event_id``.

Like the worker it never stops over one message or an outage: a message that does not decode,
or that PostgreSQL refuses (found by bisecting the batch), is dead-lettered with the same
headers as the worker's; PostgreSQL or the broker being away is waited out with backoff; a
commit refused because the group moved on while waiting is logged (the batch comes back, as
duplicates).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kafka import KafkaProducer
from kafka.errors import CommitFailedError, KafkaError
from tenacity import retry, retry_if_exception_type, wait_exponential

from reelstream.kafka import make_consumer, make_producer
from reelstream.schemas import RatingEvent
from reelstream.settings import Settings
from reelstream.store import EventStore
from reelstream.streaming.decode import BadMessage, decode_rating
from reelstream.streaming.messages import DeadLetter, RawMessage
from reelstream.streaming.resilience import MAX_BACKOFF_S, OUTAGES, describe, waits_out

__all__ = ["SinkReport", "run_sink"]

log = logging.getLogger(__name__)

_waits_for_broker = retry(
    retry=retry_if_exception_type((KafkaError, *OUTAGES)),
    wait=wait_exponential(multiplier=0.2, max=MAX_BACKOFF_S),
    reraise=True,
)


@dataclass
class SinkReport:
    consumed: int = 0
    stored: int = 0
    dead_letters: int = 0
    seconds: float = 0.0

    @property
    def events_per_s(self) -> float:
        return self.consumed / self.seconds if self.seconds else 0.0


def run_sink(
    settings: Settings,
    *,
    stop_after: int | None = None,
    idle_timeout_s: float | None = None,
    batch_size: int = 2000,
    on_batch: Callable[[SinkReport], None] | None = None,
) -> SinkReport:
    """Consume until ``stop_after`` messages, or ``idle_timeout_s`` without one (else forever)."""
    consumer = make_consumer(
        settings, settings.consumer_group, settings.ratings_topic, max_poll_records=batch_size
    )
    dlq: KafkaProducer | None = None
    report = SinkReport()
    started: float | None = None  # timed from the first message: group joining is not sinking
    last_message = time.perf_counter()
    try:
        with waits_out("PostgreSQL")(EventStore)(settings.postgres_dsn) as store:
            while stop_after is None or report.consumed < stop_after:
                polled = consumer.poll(timeout_ms=500, max_records=batch_size)
                records = [r for batch in polled.values() for r in batch]
                now = time.perf_counter()
                if not records:
                    if idle_timeout_s is not None and now - last_message > idle_timeout_s:
                        break
                    continue
                last_message = now
                started = now if started is None else started
                events: list[tuple[RatingEvent, Any]] = []
                bad: list[DeadLetter] = []
                for record in records:
                    try:
                        events.append((decode_rating(record.value, record.key), record))
                    except BadMessage as exc:
                        bad.append(DeadLetter(_raw(record), str(exc), "validate"))
                stored, refused = _store_isolating(store, events)
                bad.extend(DeadLetter(_raw(record), error, "store") for record, error in refused)
                if bad:
                    dlq = dlq or _waits_for_broker(make_producer)(settings)
                    for letter in bad:
                        _send(dlq, settings.dlq_topic, letter)
                report.stored += stored
                try:
                    consumer.commit()  # only after the rows are stored
                except CommitFailedError as exc:  # the group moved on while we waited
                    log.warning("commit refused (%s); the batch comes back as duplicates", exc)
                report.consumed += len(records)
                report.dead_letters += len(bad)
                if on_batch is not None:
                    on_batch(report)
    finally:
        report.seconds = time.perf_counter() - started if started is not None else 0.0
        consumer.close()
        if dlq is not None:
            dlq.close()
    return report


def _raw(record: Any) -> RawMessage:
    return RawMessage(record.value, record.key, record.topic, record.partition, record.offset)


@waits_out("PostgreSQL")
def _insert(store: EventStore, events: list[RatingEvent]) -> int:
    return len(store.insert_ratings(events))


def _store_isolating(store: EventStore, events: list[tuple[RatingEvent, Any]]) -> tuple[int, list]:
    """Store; events PostgreSQL refuses are found by bisection: ``(stored, [(record, error)])``."""
    if not events:
        return 0, []
    try:
        return _insert(store, [event for event, _ in events]), []
    except Exception as exc:  # noqa: BLE001 - outages never get here (waited out)
        if len(events) == 1:
            return 0, [(events[0][1], describe(exc))]
    half = len(events) // 2
    stored, refused = _store_isolating(store, events[:half])
    more, more_refused = _store_isolating(store, events[half:])
    return stored + more, refused + more_refused


@_waits_for_broker
def _send(producer: KafkaProducer, topic: str, letter: DeadLetter) -> None:
    m = letter.message
    producer.send(topic, key=m.key, value=m.value or b"", headers=letter.headers()).get(timeout=30)
