"""The transport of shared item state: a Redis stream every worker appends to and reads.

Each worker appends its delta after a batch (``XADD``, one round trip, the stream trimmed to
its last ~``keep`` deltas) and reads what the others appended since its last read (``XREAD``,
one round trip, no blocking), at most every ``every_s`` (under a backlog a delta then spans
several batches, and the movies they share are collected once), both on the processor's own
thread between two batches: no background client, no thread competing with the batch for the
interpreter (a Kafka topic read by a consumer thread in every worker cost a single worker
much of its rate). Deltas are best-effort — the promotion re-bases every worker — so a
delta lost with a dying worker, trimmed before a slow reader got to it, or dropped in a Redis
outage only leaves the others' copies of those movies a little behind until they are learned
again or the next champion arrives.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass

import redis

from reelstream.item_sync import ItemDelta, ItemJournal, apply_delta
from reelstream.settings import Settings

__all__ = ["ExchangeStats", "ItemSync", "apply_while_idle", "items_stream"]

log = logging.getLogger(__name__)


def items_stream(settings: Settings) -> str:
    return f"{settings.redis_prefix}items:deltas"


@dataclass
class ExchangeStats:
    applied: int = 0  # deltas of other workers applied
    events: int = 0  # their events
    published: int = 0
    max_age_s: float = 0.0  # oldest applied delta: publish → apply


class ItemSync:
    """Publish this worker's item deltas; apply the other workers'."""

    def __init__(
        self, settings: Settings, publisher: str, keep: int = 500, every_s: float = 0.1
    ) -> None:
        self.publisher = publisher.encode()
        self.stream = items_stream(settings)
        self.keep = keep
        self.every_s = every_s
        self._exchanged_at = -math.inf
        self._redis = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
        self._last_id: bytes | None = None  # read position, found on the first exchange
        self.totals = ExchangeStats()

    @property
    def position(self) -> str | None:
        """The id of the last delta read (saved with a checkpoint), None before the first read."""
        return None if self._last_id is None else self._last_id.decode()

    def resume(self, position: str | None, *, fresh_model: bool) -> None:
        """Where reading starts: after ``position``, the delta the restored checkpoint had
        merged (what the others published while this worker was down is applied); for a
        model that has learned nothing, at the stream's start (what the others learned
        before this worker joined). Otherwise after the newest delta (:meth:`exchange`)."""
        if position is not None:
            self._last_id = position.encode()
        elif fresh_model:
            self._last_id = b"0-0"

    def due(self) -> bool:
        """Whether a batch should exchange now (the last exchange is ``every_s`` old)."""
        return time.monotonic() - self._exchanged_at >= self.every_s

    def _start_position(self) -> bytes:
        """The newest delta's id: a model restored without a position, or re-learned from
        PostgreSQL, reads what comes after it."""
        newest = self._redis.xrevrange(self.stream, count=1)
        return newest[0][0] if newest else b"0-0"

    def exchange(self, model) -> ExchangeStats:  # noqa: ANN001
        """Apply the deltas the others appended since the last call, then append this
        worker's.

        A model without a journal (restored or promoted) gets one first: what it learned
        before is not shared (a checkpoint's or a champion's state already is, or will be,
        everyone's)."""
        stats = ExchangeStats()
        self._exchanged_at = time.monotonic()
        if model.item_journal is None:
            model.item_journal = ItemJournal(self.publisher.decode())
        try:
            if self._last_id is None:
                self._last_id = self._start_position()
            read = self._redis.xread({self.stream: self._last_id}, count=10_000)
        except redis.RedisError:
            log.warning("item deltas: reading failed; retrying at the next batch", exc_info=True)
            read = []
        now = time.time()
        for _, entries in read:
            for entry_id, fields in entries:
                self._last_id = entry_id
                if fields.get(b"from") == self.publisher:
                    continue
                try:
                    delta = ItemDelta.from_bytes(fields[b"delta"])
                except Exception:  # noqa: BLE001 - a malformed delta is skipped, logged
                    log.exception("item deltas: skipping unreadable entry %s", entry_id)
                    continue
                stats.events += apply_delta(model, delta)
                stats.applied += 1
                stats.max_age_s = max(stats.max_age_s, now - delta.created_at)
        own = model.item_journal.collect(model)
        if own is not None:
            try:
                # not a read position: others may have appended before this entry
                self._redis.xadd(
                    self.stream,
                    {"from": self.publisher, "delta": own.to_bytes()},
                    maxlen=self.keep,
                    approximate=True,
                )
                stats.published = 1
            except redis.RedisError:
                log.warning("item deltas: publishing failed; this batch's stays local", exc_info=True)
        t = self.totals
        t.applied += stats.applied
        t.events += stats.events
        t.published += stats.published
        t.max_age_s = max(t.max_age_s, stats.max_age_s)
        return stats

    def close(self) -> None:
        t = self.totals
        log.info(
            "item sync: applied %d deltas (%d events) of other workers, published %d; "
            "oldest delta on arrival %.0f ms",
            t.applied, t.events, t.published, 1000 * t.max_age_s,
        )
        self._redis.close()


async def apply_while_idle(processor, lock: asyncio.Lock, every_s: float = 0.5) -> None:  # noqa: ANN001
    """Apply the deltas that arrive while no batch comes (a quiet stream, the end of a
    replay): batches exchange as they go, this covers the gaps between them."""
    while True:
        await asyncio.sleep(every_s)
        if processor.item_sync is None:
            continue
        async with lock:  # never between a batch's learning and its Redis writes
            await asyncio.to_thread(processor._exchange_items)
