"""Forgetting a user on every worker: a Redis pub/sub command beside the promotions channel.

``DELETE /users/{id}`` deletes the user's ratings and lists, then publishes
``{"user_id": ...}`` on ``<prefix>users:forget``. Each worker's processor drops the user from
its model and its known users, deletes their lists again (one may have been written
meanwhile) and checkpoints at once, so a restart cannot bring the user back from an older
checkpoint. It then records what it removed under ``<prefix>users:forget:<id>`` (a hash by
worker, kept a day) for the API to report.
"""

from __future__ import annotations

import asyncio
import logging

import orjson

from reelstream.forget_channel import REPORT_TTL_S, forget_channel, forget_report_key
from reelstream.settings import Settings
from reelstream.streaming.processor import BatchProcessor
from reelstream.streaming.resilience import MAX_BACKOFF_S, describe

__all__ = ["forget_user", "listen_for_forgets"]

log = logging.getLogger(__name__)


def forget_user(processor: BatchProcessor, user_id: int) -> dict[str, int]:
    """Drop ``user_id`` from this worker (call between batches) and checkpoint."""
    removed = processor.model.forget_user(user_id)
    live = processor.live
    if live is not None and live.challenger is not None:
        live.challenger.forget_user(user_id)  # the shadow holds their weights too
        live.challenger_lists.pop(user_id, None)
    processor.known_users.forget(user_id)
    removed["lists"] = int(processor.cache.delete_user_recommendations(user_id))
    processor.checkpoint()
    return removed


async def listen_for_forgets(settings: Settings, processor: BatchProcessor,
                             lock: asyncio.Lock) -> None:
    """Apply every forget command published while this worker runs (Redis outages are
    waited out; a command published while a worker is down is covered by its checkpoint
    having been written after the ratings were deleted, or by recovery finding none)."""
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError

    delay = 0.5
    while True:
        client = aioredis.Redis.from_url(settings.redis_url, socket_connect_timeout=2,
                                         health_check_interval=10)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(forget_channel(settings))
            delay = 0.5
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                try:
                    user_id = int(orjson.loads(message["data"])["user_id"])
                except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
                    log.warning("ignored a malformed forget command: %r", message["data"][:200])
                    continue
                async with lock:  # between two batches
                    removed = await asyncio.to_thread(forget_user, processor, user_id)
                log.info("forgot user %d: %s", user_id, removed)
                key = forget_report_key(settings, user_id)
                await client.hset(key, settings.worker_id, orjson.dumps(removed))
                await client.expire(key, REPORT_TTL_S)
        except (RedisError, OSError) as exc:
            log.warning("forget channel lost (%s); resubscribing in %.1f s", describe(exc), delay)
        finally:
            await pubsub.aclose()
            await client.aclose()
        await asyncio.sleep(delay)
        delay = min(delay * 2, MAX_BACKOFF_S)
