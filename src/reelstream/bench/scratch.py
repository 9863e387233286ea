"""A throw-away corner of the configured stack for one benchmark run.

A fresh PostgreSQL schema (dropped afterwards), fresh topic and group names, and a Redis key
prefix of its own (deleted afterwards), so a benchmark neither sees nor disturbs the demo's
data and always measures first-time inserts.
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
        yield settings.model_copy(
            update={
                "postgres_dsn": dsn,
                "redis_prefix": prefix,
                "ratings_topic": f"{tag}.ratings",
                "dlq_topic": f"{tag}.dlq",
                "consumer_group": f"{tag}.group",
                "worker_id": f"{tag}.worker",
            }
        )
    finally:
        with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(tag)))
        client = redis.Redis.from_url(settings.redis_url)
        for batch in _chunks(client.scan_iter(f"{prefix}*", count=1000), 1000):
            client.delete(*batch)
        client.close()


def _chunks(items, size):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
