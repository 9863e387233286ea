"""Wiring of the streaming worker: build its processor, follow champion promotions.

Promotions travel on a Redis pub/sub channel rather than a Kafka topic: every worker of the
consumer group must hear them (a topic would hand each message to one member only), and a
worker that was down simply compares its model with the champion when it starts.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import orjson

from reelstream.cache import RecommendationCache
from reelstream.models import OnlineRecommender, load_online_config
from reelstream.models.config import load_challenger_overrides, online_config
from reelstream.settings import Settings
from reelstream.store import EventStore
from reelstream.streaming.prepared_batch import ProcessorConfig
from reelstream.streaming.processor import BatchProcessor
from reelstream.streaming.promotion import adopt, fetch_new_champion, promotions_channel
from reelstream.streaming.resilience import MAX_BACKOFF_S, describe, waits_out
from reelstream.streaming.shadow import follow_challenger

if TYPE_CHECKING:
    from reelstream.streaming.live_eval import LiveEvaluation

__all__ = ["build_processor", "listen_for_promotions"]

log = logging.getLogger(__name__)


def build_processor(settings: Settings) -> BatchProcessor:
    """Connect to the stores, restore the last checkpoint and learn what came after it
    (PostgreSQL being away is waited out)."""
    config = load_online_config(settings.params)
    processor = BatchProcessor(
        store=waits_out("PostgreSQL")(EventStore)(settings.postgres_dsn),
        cache=RecommendationCache.from_settings(settings),
        model=OnlineRecommender(config),
        checkpoint_name=settings.worker_id,
        config=ProcessorConfig(
            top_n=settings.top_n,
            checkpoint_every_events=settings.checkpoint_every_events,
            checkpoint_every_s=settings.checkpoint_every_s,
            checkpoint_max_share=settings.checkpoint_max_share,
            list_max_delay_s=settings.list_max_delay_s,
            list_catchup_unread=settings.list_catchup_unread,
            list_catchup_delay_s=settings.list_catchup_delay_s,
        ),
    )
    caught_up = processor.recover()
    if settings.live_eval:
        processor.live = build_live_evaluation(settings)
    if settings.item_sync:
        from reelstream.item_sync import ItemJournal
        from reelstream.streaming.item_stream import ItemSync

        # after recovery: events re-learned from PostgreSQL were shared before the restart
        processor.model.item_journal = ItemJournal(settings.worker_id)
        processor.item_sync = ItemSync(settings, settings.worker_id)
        processor.item_sync.resume(
            processor.items_position, fresh_model=processor.model.events_learned == 0
        )
        processor._exchange_items()  # what the others published meanwhile, applied now
    log.info(
        "worker %s ready: model %s, %d events learned (%d caught up from PostgreSQL)",
        settings.worker_id,
        processor.model.version,
        processor.model.events_learned,
        caught_up,
    )
    return processor


def build_live_evaluation(settings: Settings) -> LiveEvaluation:
    """The live evaluation, with the shadow challenger the parameters file names (``challenger:``:
    settings of the ``online:`` section to change), which starts learning now."""
    from reelstream.streaming.live_eval import LiveEvaluation

    challenger = None
    overrides = load_challenger_overrides(settings.params)
    if overrides is not None:
        base = load_online_config(settings.params)
        config = online_config({**base.model_dump(), **overrides}, "challenger")
        challenger = OnlineRecommender(config)
        log.info("shadow challenger %s (%s)", challenger.version, overrides)
    return LiveEvaluation(
        settings.live_window, challenger=challenger, drift_min_shift=settings.live_drift_min_shift
    )


async def listen_for_promotions(
    settings: Settings, processor: BatchProcessor, lock: asyncio.Lock
) -> None:
    """Adopt the registry's champion now, then each time one is announced.

    A Redis outage drops the subscription: it is re-established with backoff, and the
    champion is checked again then (an announcement may have been missed meanwhile). A
    registry that cannot be reached is asked again with backoff (up to a minute apart) until
    it answers.
    """
    import redis.asyncio as aioredis  # only here: keeps the worker's start-up imports lean
    from redis.exceptions import RedisError

    retrying: asyncio.Task | None = None

    async def check_champion() -> None:
        """Checked before subscribing (so a subscribed worker has looked at the registry);
        if the registry did not answer, asked again in the background."""
        nonlocal retrying
        if retrying is not None:
            retrying.cancel()
            retrying = None
        if not await _adopt(settings, processor, lock):
            retrying = asyncio.create_task(_adopt_until_reached(settings, processor, lock))
        await follow_challenger(settings, processor, lock)

    delay = 0.5
    while True:
        await check_champion()
        client = aioredis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=2, health_check_interval=10
        )
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(promotions_channel(settings))
            delay = 0.5
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                log.info("promotion announced: %s", _announcement(message["data"]))
                await check_champion()
        except (RedisError, OSError) as exc:
            log.warning(
                "promotion channel lost (%s); resubscribing in %.1f s", describe(exc), delay
            )
        finally:
            await pubsub.aclose()
            await client.aclose()
        await asyncio.sleep(delay)
        delay = min(delay * 2, MAX_BACKOFF_S)


def _announcement(data: bytes) -> object:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return data[:200]


async def _adopt_until_reached(
    settings: Settings, processor: BatchProcessor, lock: asyncio.Lock
) -> None:
    delay = 5.0
    while True:
        await asyncio.sleep(delay)
        if await _adopt(settings, processor, lock):
            return
        delay = min(delay * 2, 60.0)


async def _adopt(settings: Settings, processor: BatchProcessor, lock: asyncio.Lock) -> bool:
    """Load a new champion (slow, outside the lock), then swap models between two batches.
    False when the registry could not be asked (to be tried again); a refused champion is an
    answer (True)."""
    try:
        champion = await asyncio.to_thread(
            fetch_new_champion, settings, processor.model.base_version
        )
    except Exception as exc:  # noqa: BLE001 - the registry being away must not stop the stream
        log.warning(
            "model registry unreachable or champion unreadable (%s); keeping %s",
            describe(exc), processor.model.version,
        )
        return False
    if champion is None:
        return True
    try:
        async with lock:
            await asyncio.to_thread(adopt, processor, champion)
    except Exception as exc:  # noqa: BLE001 - a bad champion is refused, the worker goes on
        log.error("champion v%s refused: %s; keeping %s", champion.version, describe(exc),
                  processor.model.version)
        return True
    log.info("now serving %s", processor.model.version)
    return True
