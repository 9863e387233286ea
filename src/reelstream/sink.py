"""A store-only consumer: ratings topic → PostgreSQL, nothing else (no model, no cache).

For backfills and for measuring the storage path on its own (``reelstream bench ingest``).
The streaming worker does the same storing plus learning; both commit offsets only after the
rows are stored (at-least-once) and both make duplicates no-ops by ``event_id``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from kafka import KafkaProducer
from pydantic import ValidationError

from reelstream.kafka import make_consumer, make_producer
from reelstream.schemas import RatingEvent
from reelstream.settings import Settings
from reelstream.store import EventStore

__all__ = ["SinkReport", "run_sink"]


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
        with EventStore(settings.postgres_dsn) as store:
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
                events, bad = [], []
                for record in records:
                    try:
                        events.append(RatingEvent.from_bytes(record.value))
                    except ValidationError as exc:
                        bad.append((record, str(exc)))
                if bad:
                    dlq = dlq or make_producer(settings)
                    for record, error in bad:
                        dlq.send(
                            settings.dlq_topic, key=record.key, value=record.value,
                            headers=[("reelstream.error", error.encode()[:4000])],
                        ).get(timeout=30)
                report.stored += len(store.insert_ratings(events))
                consumer.commit()  # only after the rows are stored
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
