"""A throw-away corner of the configured stack for one benchmark run.

A fresh PostgreSQL schema (dropped afterwards), fresh topic and group names, a Redis key
prefix of its own (deleted afterwards) and a registered-model name no one has promoted, so a
benchmark neither sees nor disturbs the demo's data (a worker under test does not warm-start
from the demo's champion — loading it imports MLflow, seconds of CPU in the middle of the
measurement) and always measures first-time inserts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import redis
from psycopg import sql
from psycopg.conninfo import make_conninfo

from reelstream.settings import Settings
from reelstream.store import upgrade

__all__ = ["scratch_settings"]


@contextmanager
def scratch_settings(settings: Settings, label: str = "bench") -> Iterator[Settings]:
    tag = f"{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(tag)))
    dsn = make_conninfo(settings.postgres_dsn, options=f"-csearch_path={tag}")
    prefix = f"{tag}:"
    try:
        upgrade(dsn)
        scratch = settings.model_copy(
            update={
                "postgres_dsn": dsn,
                "redis_prefix": prefix,
                "ratings_topic": f"{tag}.ratings",
                "dlq_topic": f"{tag}.dlq",
                "consumer_group": f"{tag}.group",
                "worker_id": f"{tag}.worker",
                "registered_model_name": f"{tag}-mf",
            }
        )
        _create_topics(scratch)
        yield scratch
    finally:
        with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(tag)))
        client = redis.Redis.from_url(settings.redis_url)
        for batch in _chunks(client.scan_iter(f"{prefix}*", count=1000), 1000):
            client.delete(*batch)
        client.close()
        _delete_topics(settings, tag)


def _create_topics(settings: Settings) -> None:
    """The run's topics, as ``stack up`` creates them (the broker creates none by itself)."""
    import socket

    from reelstream.kafka import bootstrap_servers, default_topics, ensure_topics

    host, _, port = bootstrap_servers(settings)[0].rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=0.5).close()
    except (OSError, ValueError):
        return  # no broker: a benchmark or test that never uses Kafka
    ensure_topics(settings, default_topics(settings))


def _delete_topics(settings: Settings, tag: str) -> None:
    """The run's topics (and Faust's internal ones): the broker keeps them on disk, and a
    series of benchmark runs would pile them up."""
    from reelstream.kafka import make_admin

    try:
        admin = make_admin(settings)
    except Exception:  # noqa: BLE001 - no broker (a benchmark that never used Kafka): nothing to do
        return
    try:
        ours = [t for t in admin.list_topics() if t.startswith(f"{tag}.")]
        if ours:
            admin.delete_topics(ours)
    finally:
        admin.close()


def _chunks(items, size):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
