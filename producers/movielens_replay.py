"""Replay a MovieLens ratings table into Kafka as a time-ordered stream of events.

Thin adapter: the events come from :mod:`reelstream.replay`; this module only sends them
with ``acks="all"`` and accounts for every one of them.
"""

from __future__ import annotations

import time
from contextlib import suppress
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
from kafka.errors import KafkaError

from reelstream.kafka import ensure_topics, make_producer
from reelstream.replay import Pacer, check_ratings, events_in_time_order
from reelstream.settings import Settings

__all__ = ["ReplayReport", "ReplayFailed", "replay"]


@dataclass(frozen=True)
class ReplayReport:
    sent: int
    acknowledged: int
    seconds: float
    #: ``{partition: offset after the last acknowledged event}``: a consumer group has
    #: everything once its committed offsets reach these.
    end_offsets: dict[int, int] = field(default_factory=dict)

    @property
    def events_per_s(self) -> float:
        return self.acknowledged / self.seconds if self.seconds > 0 else 0.0


class ReplayFailed(RuntimeError):
    """The broker did not acknowledge every event."""


def replay(
    settings: Settings,
    ratings: pd.DataFrame,
    *,
    speed: float | None = None,
    limit: int | None = None,
    source: str = "ratings",
    on_progress: Callable[[int], None] | None = None,
) -> ReplayReport:
    """Publish ``ratings`` in timestamp order; raise :class:`ReplayFailed` if any is not acked.

    ``speed`` compresses event time ``speed``-fold (``None``: as fast as possible).
    """
    check_ratings(ratings, source)
    try:
        ensure_topics(settings, {settings.ratings_topic: settings.topic_partitions})
        producer = make_producer(settings)
    except KafkaError as exc:
        raise ReplayFailed(
            f"Kafka at {settings.kafka_bootstrap_servers} is unreachable ({exc}); "
            "nothing was published"
        ) from exc
    failures: list[BaseException] = []
    end_offsets: dict[int, int] = {}
    acked = 0

    def acknowledged(metadata) -> None:  # runs on the producer's I/O thread
        nonlocal acked
        acked += 1
        if metadata.offset + 1 > end_offsets.get(metadata.partition, 0):
            end_offsets[metadata.partition] = metadata.offset + 1

    pacer = Pacer(speed)
    sent = 0
    started = time.perf_counter()
    try:
        for event in events_in_time_order(ratings, limit):
            pacer.wait_until(event.timestamp)
            producer.send(
                settings.ratings_topic, key=event.key, value=event.to_bytes()
            ).add_callback(acknowledged).add_errback(failures.append)
            sent += 1
            if on_progress is not None and sent % 1000 == 0:
                on_progress(1000)
        producer.flush(timeout=settings.kafka_request_timeout_ms / 1000 * 3)
    except KafkaError as exc:  # broker gone mid-replay: report what was not acknowledged
        failures.append(exc)
    finally:
        with suppress(KafkaError):
            producer.close(timeout=5)
    seconds = time.perf_counter() - started
    if on_progress is not None:
        on_progress(sent % 1000)
    report = ReplayReport(sent=sent, acknowledged=acked, seconds=seconds, end_offsets=end_offsets)
    if acked < sent or failures:
        raise ReplayFailed(
            f"{sent - acked:,} of {sent:,} events published were not acknowledged by the broker "
            f"at {settings.kafka_bootstrap_servers} (first error: {failures[0] if failures else 'none'}); "
            "re-run the replay — event ids are stable, so those already stored are not stored twice"
        )
    return report
