"""What the chaos scenarios send and how they check the outcome, by event identity.

Valid events carry their own ``event_id``; the check asks PostgreSQL which of those ids it
holds (each at most once: the id is the primary key), reads the dead-letter topic for the bad
messages (matched by their bytes, with the error header), and reads what the worker learned
from its checkpoint (the worker is stopped gracefully first, so the checkpoint is final).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from reelstream.kafka import make_consumer, make_producer
from reelstream.schemas import RatingEvent
from reelstream.settings import Settings
from reelstream.store import EventStore

__all__ = [
    "POISON",
    "Outcome",
    "Sender",
    "synthetic_events",
    "send",
    "stored_ids",
    "dead_letters",
    "learned",
    "wait_for_list",
    "degraded_reason",
    "worker_status",
    "promotion_listeners",
]

_BASE = datetime(2020, 1, 1, tzinfo=UTC)

#: Messages no worker may stop on: (name, key, value). Each must end in the dead-letter topic.
POISON: list[tuple[str, bytes | None, bytes | None]] = [
    (
        "overflowing timestamp",
        b"7",
        b'{"user_id":7,"movie_id":1,"rating":4,"timestamp":"9999-12-31T23:59:59-01:00"}',
    ),
    ("invalid UTF-8", b"7", b'{"user_id":7,"movie_id":1,"rating":4,"x":"\xff\xfe"}'),
    ("900 KB value", b"7", b'{"user_id":7,"movie_id":1,"rating":4,"pad":"' + b"x" * 900_000 + b'"}'),
    ("key disagrees with user_id", b"8", b'{"user_id":7,"movie_id":2,"rating":4}'),
    ("JSON array", b"7", b"[1, 2, 3]"),
    ("null value", b"7", None),
]


def synthetic_events(n: int, *, users: int = 50, movies: int = 400, seed: int = 0) -> list[RatingEvent]:
    """``n`` valid events, time-ordered, each with a fresh id (no two runs collide)."""
    rng = random.Random(seed)
    return [
        RatingEvent(
            event_id=uuid.uuid4(),
            user_id=rng.randint(1, users),
            movie_id=rng.randint(1, movies),
            rating=rng.randint(1, 10) / 2,
            timestamp=_BASE + timedelta(seconds=i),
        )
        for i in range(n)
    ]


def send(settings: Settings, messages: Sequence[RatingEvent | tuple[bytes | None, bytes | None]]) -> None:
    """Produce events and raw ``(key, value)`` messages, in order, acknowledged."""
    producer = make_producer(settings, max_request_size=2_000_000)
    try:
        sent = []
        for m in messages:
            if isinstance(m, RatingEvent):
                sent.append(producer.send(settings.ratings_topic, key=m.key, value=m.to_bytes()))
            else:
                sent.append(producer.send(settings.ratings_topic, key=m[0], value=m[1]))
        producer.flush(60)
        for future in sent:  # raises unless the broker acknowledged it (acks=all)
            future.get(timeout=0)
    finally:
        producer.close()


class Sender(threading.Thread):
    """Sends ``events`` at about ``per_s`` in the background (a replay the fault lands in),
    retrying a send the broker does not take (so an outage does not lose test events)."""

    def __init__(self, settings: Settings, events: list[RatingEvent], per_s: float) -> None:
        super().__init__(daemon=True)
        self.settings, self.events, self.per_s = settings, events, per_s
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            chunk = max(1, int(self.per_s / 10))
            for start in range(0, len(self.events), chunk):
                t0 = time.monotonic()
                send(self.settings, self.events[start : start + chunk])
                time.sleep(max(0.0, 0.1 - (time.monotonic() - t0)))
        except BaseException as exc:  # noqa: BLE001 - reported by the scenario
            self.error = exc


def stored_ids(settings: Settings, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    with EventStore(settings.postgres_dsn) as store:
        rows = store.connection.execute(
            "SELECT event_id FROM ratings WHERE event_id = ANY(%s)", (list(ids),)
        ).fetchall()
    return {row[0] for row in rows}


def dead_letters(settings: Settings, timeout_s: float = 5.0) -> list[tuple[bytes | None, dict[str, bytes]]]:
    """Every message on the dead-letter topic: (value, headers)."""
    from kafka import TopicPartition

    consumer = make_consumer(settings, None, fetch_max_bytes=5_000_000, max_partition_fetch_bytes=5_000_000)
    try:
        tp = TopicPartition(settings.dlq_topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning()
        end = consumer.end_offsets([tp])[tp]
        out: list[tuple[bytes | None, dict[str, bytes]]] = []
        deadline = time.monotonic() + timeout_s
        while consumer.position(tp) < end and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                out.extend((r.value, dict(r.headers)) for r in records)
        return out
    finally:
        consumer.close()


def learned(settings: Settings) -> int:
    """Events the worker's model learned, from its checkpoint (stop the worker first)."""
    from reelstream.models import OnlineRecommender

    with EventStore(settings.postgres_dsn) as store:
        checkpoint = store.load_checkpoint(settings.worker_id)
    return OnlineRecommender.from_bytes(checkpoint.model).events_learned if checkpoint else 0


def wait_for_list(settings: Settings, event: RatingEvent, timeout_s: float) -> float | None:
    """Seconds until ``event``'s user's cached list includes it (None: not in time)."""
    from reelstream.cache import RecommendationCache

    cache = RecommendationCache.from_settings(settings)
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < timeout_s:
            try:
                recs = cache.get_user_recommendations(event.user_id)
            except Exception:  # noqa: BLE001 - Redis may still be coming back
                recs = None
            if recs is not None and recs.last_event_id == event.event_id:
                return time.monotonic() - t0
            time.sleep(0.1)
        return None
    finally:
        cache.close()


def worker_status(settings: Settings):  # noqa: ANN201 - WorkerStatus | None
    """The worker's last heartbeat in Redis (None: none, or Redis away)."""
    import redis

    from reelstream.worker_status import read_statuses

    client = redis.Redis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1)
    try:
        found = [s for s in read_statuses(client, settings.redis_prefix) if s.worker_id == settings.worker_id]
    except redis.RedisError:
        return None
    finally:
        client.close()
    return found[0] if found else None


def promotion_listeners(settings: Settings) -> int:
    """Subscribers of the promotions channel (the worker's listener, once subscribed)."""
    import redis

    from reelstream.streaming.promotion import promotions_channel

    client = redis.Redis.from_url(settings.redis_url, socket_timeout=2)
    try:
        return int(dict(client.pubsub_numsub(promotions_channel(settings))).get(
            promotions_channel(settings).encode(), 0))
    except redis.RedisError:
        return 0
    finally:
        client.close()


def degraded_reason(settings: Settings) -> str | None:
    """Why the worker says it is degraded, from its metrics and heartbeat (None: it is not)."""
    import httpx

    try:
        text = httpx.get(f"http://127.0.0.1:{settings.worker_metrics_port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return None
    if "reelstream_worker_degraded 1.0" not in text:
        return None
    status = worker_status(settings)
    if status is not None and status.state == "degraded" and status.reason:
        return status.reason
    return "degraded (metrics; heartbeat not readable)"


@dataclass
class Outcome:
    """One scenario's figures (what ``bench chaos`` prints and the fault tests assert)."""

    scenario: str
    sent: int = 0  # valid events
    bad: int = 0  # poison messages
    stored: int = 0  # valid events found in PostgreSQL (each at most once: primary key)
    learned: int = 0  # events the model learned (checkpoint counter)
    dead_lettered: int = 0  # bad messages found on the dead-letter topic
    worker_exits: int = 0
    recover_s: float | None = None  # fault over → a new rating is in its user's list
    skipped: str | None = None
    degraded: str | None = None  # the reason the worker gave during the fault
    promotion_listeners: int = 0  # subscribers of the promotions channel after the fault
    errors: dict[str, str] = field(default_factory=dict)  # poison name → error header

    @property
    def lost(self) -> int:
        return self.sent - self.stored

    @property
    def duplicated(self) -> int:
        """Events learned more than once (learned beyond what was stored)."""
        return max(0, self.learned - self.stored)

    @property
    def ok(self) -> bool:
        return (
            self.skipped is None
            and self.lost == 0
            and self.learned == self.stored
            and self.dead_lettered == self.bad
            and self.worker_exits == 0
            and self.recover_s is not None
        )
