"""Where a "forget this user" command travels: a Redis pub/sub channel every worker hears,
and a hash in which each worker reports what it removed (:mod:`reelstream.streaming.forget`)."""

from __future__ import annotations

import time
from typing import Any

import orjson

from reelstream.settings import Settings

__all__ = ["REPORT_TTL_S", "forget_channel", "forget_report_key", "announce_forget",
           "worker_reports"]

REPORT_TTL_S = 86_400


def forget_channel(settings: Settings) -> str:
    """Under the key prefix, like the promotions channel (pub/sub ignores Redis DBs)."""
    return f"{settings.redis_prefix}users:forget"


def forget_report_key(settings: Settings, user_id: int) -> str:
    return f"{settings.redis_prefix}users:forget:{int(user_id)}"


def announce_forget(client: Any, settings: Settings, user_id: int) -> int:
    """Publish the command (``client``: redis-py); returns how many workers heard it."""
    client.delete(forget_report_key(settings, user_id))
    return int(client.publish(forget_channel(settings), orjson.dumps({"user_id": int(user_id)})))


def worker_reports(client: Any, settings: Settings, user_id: int, expected: int,
                   timeout_s: float) -> dict[str, dict[str, int]]:
    """What each worker removed, waiting up to ``timeout_s`` for ``expected`` reports."""
    deadline = time.monotonic() + timeout_s
    key = forget_report_key(settings, user_id)
    while True:
        raw = client.hgetall(key)
        if len(raw) >= expected or time.monotonic() >= deadline:
            return {k.decode(): orjson.loads(v) for k, v in raw.items()}
        time.sleep(0.05)
