"""Wiring of the streaming worker: build its processor, follow champion promotions.

Promotions travel on a Redis pub/sub channel rather than a Kafka topic: every worker of the
consumer group must hear them (a topic would hand each message to one member only), and a
worker that was down simply compares its model with the champion when it starts.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import orjson

from reelstream.cache import RecommendationCache
from reelstream.models import OnlineRecommender, load_online_config
from reelstream.settings import Settings
from reelstream.store import EventStore
from reelstream.streaming.processor import BatchProcessor
from reelstream.streaming.promotion import adopt, fetch_new_champion, promotions_channel

__all__ = ["build_processor", "listen_for_promotions"]

log = logging.getLogger(__name__)


def build_processor(settings: Settings) -> BatchProcessor:
    """Connect to the stores, restore the last checkpoint and learn what came after it."""
    if settings.worker_metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.worker_metrics_port, addr="0.0.0.0")
    params = Path("params.yaml")
    config = load_online_config(params) if params.exists() else None
    processor = BatchProcessor(
        store=EventStore(settings.postgres_dsn),
        cache=RecommendationCache.from_settings(settings),
        model=OnlineRecommender(config),
        checkpoint_name=settings.worker_id,
        top_n=settings.top_n,
        checkpoint_every_events=settings.checkpoint_every_events,
        checkpoint_every_s=settings.checkpoint_every_s,
    )
    caught_up = processor.recover()
    if settings.item_sync:
        from reelstream.item_sync import ItemJournal
        from reelstream.streaming.item_sync import ItemSync

        # after recovery: events re-learned from PostgreSQL were shared before the restart
        processor.model.item_journal = ItemJournal(settings.worker_id)
        processor.item_sync = ItemSync(settings, settings.worker_id)
        processor._exchange_items()  # fixes its read position now: later deltas are new
    log.info(
        "worker %s ready: model %s, %d events learned (%d caught up from PostgreSQL)",
        settings.worker_id,
        processor.model.version,
        processor.model.events_learned,
        caught_up,
    )
    return processor


async def listen_for_promotions(
    settings: Settings, processor: BatchProcessor, lock: asyncio.Lock
) -> None:
    """Adopt the registry's champion now, then each time one is announced."""
    import redis.asyncio as aioredis  # only here: keeps the worker's start-up imports lean

    await _adopt(settings, processor, lock)
    client = aioredis.Redis.from_url(settings.redis_url)
    pubsub = client.pubsub()
    await pubsub.subscribe(promotions_channel(settings))
    try:
        async for message in pubsub.listen():
            if message.get("type") != "message":
                continue
            log.info("promotion announced: %s", orjson.loads(message["data"]))
            await _adopt(settings, processor, lock)
    finally:
        await pubsub.aclose()
        await client.aclose()


async def _adopt(settings: Settings, processor: BatchProcessor, lock: asyncio.Lock) -> None:
    """Load a new champion (slow, outside the lock), then swap models between two batches."""
    try:
        champion = await asyncio.to_thread(
            fetch_new_champion, settings, processor.model.base_version
        )
    except Exception:  # the registry being away must not stop the stream
        log.warning("model registry unreachable; keeping %s", processor.model.version)
        return
    if champion is None:
        return
    async with lock:
        await asyncio.to_thread(adopt, processor, champion)
    log.info("now serving %s", processor.model.version)
