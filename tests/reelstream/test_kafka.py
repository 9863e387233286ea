"""Kafka helpers against the real embedded broker (Apache Kafka)."""

from __future__ import annotations

import socket
import uuid

import pytest

from reelstream.kafka import (
    broker_reachable,
    ensure_topics,
    faust_broker_settings,
    make_admin,
    make_consumer,
    make_producer,
)
from reelstream.settings import Settings

pytestmark = pytest.mark.integration


def _topic(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_broker_reachable(stack: Settings) -> None:
    assert broker_reachable(stack, timeout_s=5)


def test_broker_unreachable_is_false_not_a_hang() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(_env_file=None, kafka_bootstrap_servers=f"127.0.0.1:{port}")
    assert not broker_reachable(settings, timeout_s=1)


def test_ensure_topics_creates_with_partitions_and_tolerates_existing(stack: Settings) -> None:
    a, b = _topic("t-a"), _topic("t-b")
    assert sorted(ensure_topics(stack, {a: 3, b: 1})) == sorted([a, b])
    assert ensure_topics(stack, {a: 3}) == []  # already there: no error, nothing created
    admin = make_admin(stack)
    try:
        described = {t["name"]: t for t in admin.describe_topics([a, b])}
    finally:
        admin.close()
    assert len(described[a]["partitions"]) == 3
    assert len(described[b]["partitions"]) == 1


def test_the_stack_created_the_default_topics(stack: Settings) -> None:
    admin = make_admin(stack)
    try:
        topics = set(admin.list_topics())
    finally:
        admin.close()
    assert {stack.ratings_topic, stack.dlq_topic} <= topics


def test_produce_acks_all_and_consume_back_in_a_group(stack: Settings) -> None:
    topic = _topic("t-roundtrip")
    ensure_topics(stack, {topic: 2})
    producer = make_producer(stack)
    assert producer.config["acks"] == -1  # "all"
    try:
        for i in range(10):
            producer.send(
                topic, key=f"user-{i % 3}".encode(), value=f"v{i}".encode(),
                headers=[("event_id", f"e{i}".encode())],
            ).get(timeout=10)
    finally:
        producer.close()

    consumer = make_consumer(stack, _topic("g"), topic)
    try:
        seen: dict[bytes, bytes] = {}
        for _ in range(60):  # bounded: at most ~60 polls of 1 s
            for records in consumer.poll(timeout_ms=1000).values():
                for r in records:
                    seen[r.value] = dict(r.headers)["event_id"]
            if len(seen) == 10:
                break
        consumer.commit()
        assert consumer.assignment(), "the group never got an assignment"
    finally:
        consumer.close()
    assert seen == {f"v{i}".encode(): f"e{i}".encode() for i in range(10)}


def test_faust_settings_carry_the_fast_group_timeouts(stack: Settings) -> None:
    kwargs = faust_broker_settings(stack)
    assert kwargs["broker"] == f"kafka://{stack.kafka_bootstrap_servers}"
    assert kwargs["broker_session_timeout"] == stack.kafka_session_timeout_ms / 1000
    assert kwargs["broker_heartbeat_interval"] == stack.kafka_heartbeat_interval_ms / 1000
    assert kwargs["broker_rebalance_timeout"] == stack.kafka_rebalance_timeout_ms / 1000
    assert kwargs["broker_request_timeout"] >= kwargs["broker_session_timeout"]
