"""What each running worker says about itself, in Redis, for the API, the CLI and the web app.

A worker publishes a small status record every second or so (its heartbeat): whether it is
healthy, how far behind the ratings topic it is, the time of the newest event it learned, its
counters and the model it serves. Readers never talk to the worker or to Kafka to know
whether the stream is alive; they read these records, so a stalled worker shows as an old
heartbeat, a growing lag or a newest-learned event that stops moving.

Keys (``{p}`` is the Redis prefix):

==============================  ===========================================================
``{p}worker:{id}:status``       one orjson blob, :class:`WorkerStatus` (expires after a day)
``{p}workers``                  sorted set of worker ids, scored by their last heartbeat
``{p}dlq:recent``               the newest dead letters (list, newest first, capped)
==============================  ===========================================================
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

__all__ = [
    "WorkerStatus",
    "DeadLetterNote",
    "publish_status",
    "read_statuses",
    "record_dead_letters",
    "recent_dead_letters",
    "STATUS_TTL_S",
    "RECENT_DEAD_LETTERS",
]

STATUS_TTL_S = 24 * 3600
RECENT_DEAD_LETTERS = 50

WorkerState = Literal["ok", "degraded", "starting"]


@dataclass(frozen=True, slots=True)
class WorkerStatus:
    """One worker's view of itself at ``heartbeat_at``.

    ``lag`` maps partition number to messages not yet processed (end offset minus the
    position); ``reason`` says why the state is not ``ok``.
    """

    worker_id: str
    state: WorkerState
    heartbeat_at: datetime
    model_version: str = ""
    reason: str | None = None
    lag: dict[int, int] = field(default_factory=dict)
    newest_learned_event_at: datetime | None = None
    events_stored: int = 0
    events_learned: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    metrics_url: str | None = None
    #: role ("champion", "challenger") -> version and test-then-learn figures of that model
    live: dict[str, dict[str, Any]] = field(default_factory=dict)
    drift: str | None = None  # a recent shift of the serving model's live error

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())

    def heartbeat_age_s(self, now: datetime | None = None) -> float:
        return ((now or datetime.now(UTC)) - self.heartbeat_at).total_seconds()

    def to_json(self) -> bytes:
        data = asdict(self)
        data["lag"] = {str(p): n for p, n in self.lag.items()}
        return orjson.dumps(data)

    @classmethod
    def from_json(cls, raw: bytes | str) -> WorkerStatus:
        data: dict[str, Any] = orjson.loads(raw)
        data["lag"] = {int(p): int(n) for p, n in (data.get("lag") or {}).items()}
        for name in ("heartbeat_at", "newest_learned_event_at"):
            if data.get(name):
                data[name] = datetime.fromisoformat(data[name])
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True, slots=True)
class DeadLetterNote:
    """A dead letter as readers see it: where it came from and why it was refused."""

    at: datetime
    error: str
    stage: str
    topic: str = ""
    partition: int | None = None
    offset: int | None = None
    preview: str = ""  # the first bytes of the original value, decoded leniently

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes | str) -> DeadLetterNote:
        data: dict[str, Any] = orjson.loads(raw)
        data["at"] = datetime.fromisoformat(data["at"])
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})


def _status_key(prefix: str, worker_id: str) -> str:
    return f"{prefix}worker:{worker_id}:status"


def publish_status(client: Any, prefix: str, status: WorkerStatus) -> None:
    """Write one heartbeat (``client``: a synchronous ``redis.Redis``)."""
    score = status.heartbeat_at.timestamp()
    pipe = client.pipeline(transaction=False)
    pipe.set(_status_key(prefix, status.worker_id), status.to_json(), ex=STATUS_TTL_S)
    pipe.zadd(f"{prefix}workers", {status.worker_id: score})
    # Workers silent for a day are forgotten, so the set stays bounded.
    pipe.zremrangebyscore(f"{prefix}workers", "-inf", time.time() - STATUS_TTL_S)
    pipe.execute()


def read_statuses(client: Any, prefix: str) -> list[WorkerStatus]:
    """Every worker heard from in the last day, newest heartbeat first."""
    members = client.zrevrange(f"{prefix}workers", 0, -1)
    ids = [m.decode() if isinstance(m, bytes) else m for m in members]
    if not ids:
        return []
    raws = client.mget([_status_key(prefix, worker_id) for worker_id in ids])
    return [WorkerStatus.from_json(raw) for raw in raws if raw]


def record_dead_letters(client: Any, prefix: str, notes: Iterable[DeadLetterNote]) -> None:
    """Keep the newest :data:`RECENT_DEAD_LETTERS` dead letters for readers."""
    values = [note.to_json() for note in notes]
    if not values:
        return
    key = f"{prefix}dlq:recent"
    pipe = client.pipeline(transaction=False)
    pipe.lpush(key, *values)
    pipe.ltrim(key, 0, RECENT_DEAD_LETTERS - 1)
    pipe.execute()


def recent_dead_letters(client: Any, prefix: str, limit: int = 10) -> list[DeadLetterNote]:
    """The newest dead letters first."""
    raws = client.lrange(f"{prefix}dlq:recent", 0, max(0, limit - 1))
    return [DeadLetterNote.from_json(raw) for raw in raws]
