"""How a new champion reaches the running workers, and whether the model registry answers.

Promotions travel on a Redis pub/sub channel (every worker must hear them; a Kafka topic would
hand each message to one member of the group). Whoever moves the ``champion`` alias (the
nightly DAG, ``reelstream models``, the API's model routes) announces it here; the workers
listen (:mod:`reelstream.streaming.promotion`).
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import orjson
import redis

from reelstream.settings import Settings

__all__ = ["promotions_channel", "announce_promotion", "announce_challenger", "registry_reachable"]


def promotions_channel(settings: Settings) -> str:
    """The Redis pub/sub channel of promotions (under the key prefix: pub/sub ignores DBs)."""
    return f"{settings.redis_prefix}promotions"


def announce_promotion(settings: Settings, version: str) -> int:
    """Tell every running worker that ``version`` is the champion; returns listeners reached."""
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
    try:
        message = orjson.dumps({"champion": str(version)})
        return int(client.publish(promotions_channel(settings), message))
    finally:
        client.close()


def announce_challenger(settings: Settings, version: str, decision: str) -> int:
    """Tell every running worker the challenger ``version`` was settled (``decision``)."""
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
    try:
        message = orjson.dumps({"challenger": str(version), "decision": decision})
        return int(client.publish(promotions_channel(settings), message))
    finally:
        client.close()


def registry_reachable(settings: Settings, timeout_s: float = 1.0) -> bool:
    """False when an HTTP tracking server does not even accept a connection.

    Checked before importing MLflow, whose client would otherwise retry for minutes.
    """
    url = urlsplit(settings.mlflow_tracking_uri)
    if url.scheme not in ("http", "https"):
        return True  # a file or database store: MLflow itself will say
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname or "127.0.0.1", port), timeout=timeout_s).close()
    except OSError:
        return False
    return True
