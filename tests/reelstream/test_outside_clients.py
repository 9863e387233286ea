"""Clients other than reelstream's own, against the ratings topic of the real broker.

Each of kafka-python, aiokafka (Faust's client), confluent-kafka (librdkafka) and Debian's
``kcat`` produces rating events in the documented format (JSON, keyed by ``user_id``:
:mod:`reelstream.schemas`); each then reads the whole topic and must find every event of every
client, parseable by :meth:`RatingEvent.from_bytes`, each user's events in the partition the
Java client's partitioner (murmur2) gives the key, so per-user order holds whoever produced.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Callable

import pytest

from reelstream.kafka import bootstrap_servers
from reelstream.schemas import RatingEvent
from reelstream.settings import Settings

Produce = Callable[[Settings, list[RatingEvent]], None]
Consume = Callable[[Settings], list[tuple[int, bytes, bytes]]]  # (partition, key, value)


def _events(user_base: int, n: int = 20) -> list[RatingEvent]:
    return [RatingEvent(user_id=user_base + i % 7, movie_id=i + 1, rating=4.0) for i in range(n)]


# ---- producers -----------------------------------------------------------------------------
def _kafka_python_produce(settings: Settings, events: list[RatingEvent]) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap_servers(settings), acks="all")
    futures = [producer.send(settings.ratings_topic, key=e.key, value=e.to_bytes()) for e in events]
    producer.flush(30)
    for future in futures:
        future.get(timeout=0)
    producer.close()


def _aiokafka_produce(settings: Settings, events: list[RatingEvent]) -> None:
    from aiokafka import AIOKafkaProducer

    async def run() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers(settings), acks="all")
        await producer.start()
        try:
            for e in events:
                await producer.send_and_wait(settings.ratings_topic, e.to_bytes(), key=e.key)
        finally:
            await producer.stop()

    asyncio.run(run())


def _confluent_produce(settings: Settings, events: list[RatingEvent]) -> None:
    from confluent_kafka import Producer

    # murmur2_random: the Java client's partitioner (librdkafka's default is CRC32-based).
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap_servers, "acks": "all",
                         "partitioner": "murmur2_random"})  # fmt: skip
    failures: list[object] = []
    for e in events:
        producer.produce(settings.ratings_topic, e.to_bytes(), e.key,
                         on_delivery=lambda err, _msg: err and failures.append(err))  # fmt: skip
    assert producer.flush(30) == 0 and not failures, failures


def _kcat_produce(settings: Settings, events: list[RatingEvent]) -> None:
    lines = "".join(f"{e.user_id}\t{e.to_bytes().decode()}\n" for e in events)
    subprocess.run(
        ["kcat", "-b", settings.kafka_bootstrap_servers, "-t", settings.ratings_topic, "-P",
         "-K", "\t", "-X", "topic.partitioner=murmur2_random", "-X", "topic.acks=all"],
        input=lines.encode(), check=True, timeout=60,
    )  # fmt: skip


# ---- consumers (group-less, from the beginning to the end) ---------------------------------
def _kafka_python_consume(settings: Settings) -> list[tuple[int, bytes, bytes]]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers(settings), group_id=None,
                             enable_auto_commit=False)  # fmt: skip
    parts = [TopicPartition(settings.ratings_topic, p)
             for p in consumer.partitions_for_topic(settings.ratings_topic)]  # fmt: skip
    consumer.assign(parts)
    consumer.seek_to_beginning()
    end = consumer.end_offsets(parts)
    out = []
    while any(consumer.position(tp) < end[tp] for tp in parts):
        for tp, records in consumer.poll(timeout_ms=1000).items():
            out += [(tp.partition, r.key, r.value) for r in records]
    consumer.close()
    return out


def _aiokafka_consume(settings: Settings) -> list[tuple[int, bytes, bytes]]:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    async def run() -> list[tuple[int, bytes, bytes]]:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers(settings),
                                    enable_auto_commit=False)  # fmt: skip
        await consumer.start()
        try:
            parts = [TopicPartition(settings.ratings_topic, p)
                     for p in consumer.partitions_for_topic(settings.ratings_topic) or
                     await _partitions(consumer, settings.ratings_topic)]  # fmt: skip
            consumer.assign(parts)
            await consumer.seek_to_beginning()
            end = await consumer.end_offsets(parts)
            out = []
            while [tp for tp in parts if await consumer.position(tp) < end[tp]]:
                batch = await consumer.getmany(timeout_ms=1000)
                for tp, records in batch.items():
                    out += [(tp.partition, r.key, r.value) for r in records]
            return out
        finally:
            await consumer.stop()

    return asyncio.run(run())


async def _partitions(consumer, topic: str) -> set[int]:  # noqa: ANN001
    await consumer._client.force_metadata_update()
    return consumer.partitions_for_topic(topic) or set()


def _confluent_consume(settings: Settings) -> list[tuple[int, bytes, bytes]]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers,
                         "group.id": "outside-confluent", "enable.auto.commit": False,
                         "enable.partition.eof": True})  # fmt: skip
    meta = consumer.list_topics(settings.ratings_topic, timeout=10)
    parts = [TopicPartition(settings.ratings_topic, p, 0)
             for p in meta.topics[settings.ratings_topic].partitions]  # fmt: skip
    consumer.assign(parts)
    out, done = [], set()
    while len(done) < len(parts):
        msg = consumer.poll(5)
        assert msg is not None, "confluent-kafka: no message and no end of partition in 5 s"
        if msg.error():
            done.add(msg.partition())
            continue
        out.append((msg.partition(), msg.key(), msg.value()))
    consumer.close()
    return out


def _kcat_consume(settings: Settings) -> list[tuple[int, bytes, bytes]]:
    done = subprocess.run(
        ["kcat", "-b", settings.kafka_bootstrap_servers, "-t", settings.ratings_topic, "-C",
         "-o", "beginning", "-e", "-q", "-f", "%p\t%k\t%s\n"],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    out = []
    for line in done.stdout.splitlines():
        partition, key, value = line.split(b"\t", 2)
        out.append((int(partition), key, value))
    return out


def _needs_kcat() -> None:
    if shutil.which("kcat") is None:
        pytest.skip("kcat not installed (Debian: apt-get install kcat; .ci/run installs it)")


CLIENTS: dict[str, tuple[Produce, Consume]] = {
    "kafka-python": (_kafka_python_produce, _kafka_python_consume),
    "aiokafka": (_aiokafka_produce, _aiokafka_consume),
    "confluent-kafka": (_confluent_produce, _confluent_consume),
    "kcat": (_kcat_produce, _kcat_consume),
}


def test_every_client_produces_and_consumes_the_documented_events(isolated: Settings) -> None:
    from kafka.partitioner import murmur2

    _needs_kcat()
    produced: dict[str, list[RatingEvent]] = {}
    for n, (name, (produce, _)) in enumerate(CLIENTS.items()):
        produced[name] = _events(user_base=1000 * (n + 1))
        produce(isolated, produced[name])
    expected = {e.event_id: e for events in produced.values() for e in events}
    partitions = isolated.topic_partitions

    for name, (_, consume) in CLIENTS.items():
        records = consume(isolated)
        seen = {}
        for partition, key, value in records:
            event = RatingEvent.from_bytes(value)  # the documented format, whoever wrote it
            assert key == event.key, (name, key, event.user_id)
            assert partition == (murmur2(key) & 0x7FFFFFFF) % partitions, (name, event.user_id)
            seen[event.event_id] = event
        assert len(records) == len(expected), f"{name} read {len(records)} of {len(expected)}"
        assert seen == expected, f"{name}: events differ from those produced"
