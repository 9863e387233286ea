"""``reelstream bench ingest``: producer and sink throughput beside the raw broker rates.

All four are measured in one run on the same broker and database, so the ratios say how
much of the broker's speed our code keeps, whatever the machine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd
from kafka import TopicPartition

from reelstream.replay import replay
from benchmarks.scratch import scratch_settings
from reelstream.kafka import ensure_topics, make_consumer, make_producer
from reelstream.replay import events_in_time_order
from reelstream.settings import Settings
from reelstream.sink import run_sink

__all__ = ["Rate", "bench_ingest"]


@dataclass(frozen=True)
class Rate:
    stage: str
    events: int
    seconds: float

    @property
    def per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def _raw_produce(settings: Settings, topic: str, payloads: list[tuple[bytes, bytes]]) -> Rate:
    producer = make_producer(settings)
    started = time.perf_counter()
    for key, value in payloads:
        producer.send(topic, key=key, value=value)
    producer.flush()
    seconds = time.perf_counter() - started
    producer.close()
    return Rate("raw broker produce (kafka-python, acks=all, bytes)", len(payloads), seconds)


def _raw_consume(settings: Settings, topic: str, expected: int) -> Rate:
    consumer = make_consumer(settings, None, max_poll_records=5000)
    consumer.assign([TopicPartition(topic, p) for p in range(settings.topic_partitions)])
    consumer.seek_to_beginning()
    seen, started = 0, None
    deadline = time.monotonic() + 300
    while seen < expected and time.monotonic() < deadline:
        batch = consumer.poll(timeout_ms=1000)
        if batch and started is None:
            started = time.perf_counter()
        seen += sum(len(records) for records in batch.values())
    seconds = time.perf_counter() - (started or time.perf_counter())
    consumer.close()
    return Rate("raw broker consume (kafka-python)", seen, seconds)


def bench_ingest(settings: Settings, ratings: pd.DataFrame, limit: int | None = None) -> list[Rate]:
    """Raw produce/consume, then our replay producer and sink, on a scratch corner."""
    with scratch_settings(settings, "bench_ingest") as scratch:
        raw_topic = f"{scratch.ratings_topic}.raw"
        ensure_topics(scratch, {raw_topic: scratch.topic_partitions})
        payloads = [(e.key, e.to_bytes()) for e in events_in_time_order(ratings, limit)]
        rates = [_raw_produce(scratch, raw_topic, payloads)]
        rates.append(_raw_consume(scratch, raw_topic, len(payloads)))

        report = replay(scratch, ratings, limit=limit)
        rates.append(Rate("reelstream replay (validate + serialise + produce)", report.acknowledged, report.seconds))
        sink = run_sink(scratch, stop_after=report.acknowledged, idle_timeout_s=30)
        rates.append(Rate("reelstream sink (consume + validate + PostgreSQL)", sink.consumed, sink.seconds))
        if sink.stored != report.acknowledged:
            raise RuntimeError(f"sink stored {sink.stored} of {report.acknowledged} events")
    return rates
