"""Kafka client helpers: every producer, consumer and admin call in reelstream goes through here.

Timeouts and topic settings come from :class:`~reelstream.settings.Settings` (reasons in
docs/kafka.md). kafka-python is used for plain producers/consumers (idempotent, ``acks=all``);
Faust (aiokafka underneath) stays at-least-once, so duplicates are made harmless by
``event_id`` downstream.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError

from reelstream.settings import Settings

__all__ = [
    "bootstrap_servers",
    "make_admin",
    "ensure_topics",
    "default_topics",
    "make_producer",
    "make_consumer",
    "faust_broker_settings",
    "broker_reachable",
    "committed_offsets",
    "topic_configs",
]

_TOPIC_ALREADY_EXISTS = 36


def bootstrap_servers(settings: Settings) -> list[str]:
    """``kafka_bootstrap_servers`` as a list (the setting is comma-separated)."""
    return [s.strip() for s in settings.kafka_bootstrap_servers.split(",") if s.strip()]


def make_admin(settings: Settings, **overrides: Any) -> KafkaAdminClient:
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers(settings),
        "request_timeout_ms": settings.kafka_request_timeout_ms,
        "bootstrap_timeout_ms": settings.kafka_request_timeout_ms,
        "client_id": "reelstream-admin",
    }
    config.update(overrides)
    return KafkaAdminClient(**config)


#: Dead letters are kept for a month: long enough to notice, fix and replay them.
DLQ_RETENTION_MS = 30 * 24 * 3600 * 1000


def default_topics(settings: Settings) -> dict[str, int]:
    """The topics ``stack up`` creates: ratings (partitioned) and dead letters."""
    return {
        settings.ratings_topic: settings.topic_partitions,
        settings.dlq_topic: 1,
    }


def topic_configs(settings: Settings, topic: str) -> dict[str, str]:
    """The stated settings of a topic reelstream creates (reasons in docs/kafka.md)."""
    retention = (
        settings.ratings_retention_ms if topic == settings.ratings_topic else DLQ_RETENTION_MS
    )
    return {
        "min.insync.replicas": str(settings.topic_min_insync_replicas),
        "retention.ms": str(retention),
        "compression.type": "producer",
        "cleanup.policy": "delete",
    }


def ensure_topics(settings: Settings, topics: dict[str, int]) -> list[str]:
    """Create the missing topics of ``{name: partitions}``; existing ones are left as they are.

    Returns the names actually created. Waits until the new topics have partition leaders,
    so a producer can use them right away.
    """
    if not topics:
        return []
    admin = make_admin(settings)
    try:
        result = admin.create_topics(
            {
                name: {
                    "num_partitions": n,
                    "replication_factor": settings.topic_replication_factor,
                    "configs": topic_configs(settings, name),
                }
                for name, n in topics.items()
            },
            raise_errors=False,
        )
        created, failures = [], []
        for topic in result["topics"]:
            code = topic["error_code"]
            if code == 0:
                created.append(topic["name"])
            elif code != _TOPIC_ALREADY_EXISTS:
                failures.append(f"{topic['name']}: {topic.get('error_message') or code}")
        if failures:
            raise KafkaError("could not create topics: " + "; ".join(failures))
        if created:
            admin.wait_for_topics(created, timeout_ms=settings.kafka_request_timeout_ms)
        return created
    finally:
        admin.close()


def make_producer(settings: Settings, **overrides: Any) -> KafkaProducer:
    """A durable, batched producer: ``acks="all"``, idempotent, small linger for throughput.

    Pass ``value_serializer``/``key_serializer`` (or send bytes) and any other kafka-python
    option as keyword overrides.
    """
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers(settings),
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "batch_size": 256 * 1024,
        "request_timeout_ms": settings.kafka_request_timeout_ms,
        "bootstrap_timeout_ms": settings.kafka_request_timeout_ms,
        "max_block_ms": settings.kafka_request_timeout_ms,
        "client_id": "reelstream-producer",
    }
    config.update(overrides)
    return KafkaProducer(**config)


def make_consumer(
    settings: Settings, group_id: str | None, *topics: str, **overrides: Any
) -> KafkaConsumer:
    """A group consumer with fast group formation; offsets are *not* auto-committed.

    Commit (``consumer.commit()``) only after the events are stored: at-least-once.
    ``group_id=None`` gives a group-less consumer (use ``assign``). Reads from the earliest
    offset when the group has none. ``max_poll_interval_ms`` is the (short) rebalance
    timeout: keep the work between two ``poll`` calls under it, or override it.
    """
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers(settings),
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": settings.kafka_session_timeout_ms,
        "heartbeat_interval_ms": settings.kafka_heartbeat_interval_ms,
        "max_poll_interval_ms": settings.kafka_rebalance_timeout_ms,
        "request_timeout_ms": settings.kafka_request_timeout_ms,
        "bootstrap_timeout_ms": settings.kafka_request_timeout_ms,
        "client_id": f"reelstream-{group_id or 'consumer'}",
    }
    config.update(overrides)
    return KafkaConsumer(*topics, **config)


def faust_broker_settings(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``faust.App(...)``: broker URL, timeouts, topic defaults.

    At-least-once: duplicates are made harmless by ``event_id`` downstream.
    """
    return {
        "broker": ";".join(f"kafka://{s}" for s in bootstrap_servers(settings)),
        "broker_session_timeout": settings.kafka_session_timeout_ms / 1000,
        "broker_heartbeat_interval": settings.kafka_heartbeat_interval_ms / 1000,
        "broker_rebalance_timeout": settings.kafka_rebalance_timeout_ms / 1000,
        "broker_request_timeout": max(
            settings.kafka_request_timeout_ms, settings.kafka_session_timeout_ms
        )
        / 1000,
        "consumer_auto_offset_reset": "earliest",
        "producer_acks": -1,
        "topic_partitions": settings.topic_partitions,
        "topic_replication_factor": settings.topic_replication_factor,
        "processing_guarantee": "at_least_once",
    }


def _address(server: str) -> tuple[str, int]:
    host, _, port = server.rpartition(":")
    return host.strip("[]"), int(port)


def broker_port_open(servers: Sequence[str], timeout_s: float = 0.5) -> bool:
    """True when one of ``servers`` (``host:port``) accepts a TCP connection: a closed port
    is known in milliseconds, where a Kafka client retries until its bootstrap timeout."""
    for server in servers:
        try:
            socket.create_connection(_address(server), timeout=timeout_s).close()
            return True
        except (OSError, ValueError):
            continue
    return False


async def broker_port_open_async(servers: Sequence[str], timeout_s: float = 0.5) -> bool:
    """:func:`broker_port_open` on the event loop."""
    for server in servers:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(*_address(server)), timeout_s)
        except (OSError, TimeoutError, ValueError):
            continue
        writer.close()
        return True
    return False


def broker_reachable(settings: Settings, timeout_s: float = 3.0) -> bool:
    """True when a bootstrap server answers a metadata request within ``timeout_s``."""
    if not broker_port_open(bootstrap_servers(settings), timeout_s):
        return False  # fail fast: the client would retry for bootstrap_timeout_ms
    timeout_ms = max(int(timeout_s * 1000), 100)
    try:
        admin = make_admin(
            settings, request_timeout_ms=timeout_ms, bootstrap_timeout_ms=timeout_ms
        )
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False
    try:
        admin.describe_cluster()
        return True
    except Exception:  # noqa: BLE001
        return False
    finally:
        admin.close()


def committed_offsets(settings: Settings, group_id: str, topic: str) -> dict[int, int]:
    """``{partition: next offset to consume}`` that ``group_id`` committed for ``topic``.

    Compare with the offsets a producer was acknowledged.
    """
    from kafka import TopicPartition

    # A consumer carrying the group id reads the group's commits without joining it.
    consumer = make_consumer(settings, group_id)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        return {p: consumer.committed(TopicPartition(topic, p)) or 0 for p in sorted(partitions)}
    finally:
        consumer.close()
