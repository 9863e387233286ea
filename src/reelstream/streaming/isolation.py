"""Narrowing a batch that failed as a whole to the messages that cause it.

The processor tries each batch whole (no cost per message on the happy path). If that raises
anything, the batch is processed again in pieces: when storing failed, message by message
(each message that still fails becomes a dead letter; what the failed attempt stored is a
duplicate then); when learning failed, the batch's stored events that were not learned yet
are learned one by one (a retry through ``prepare`` would see them as duplicates and never
learn them). An outage met on the way is waited out, never turned into a dead letter.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor

from reelstream.streaming.messages import BatchOutcome, DeadLetter, RawMessage
from reelstream.streaming.prepared_batch import PreparedBatch
from reelstream.streaming.processor import BatchProcessor
from reelstream.streaming.resilience import HEALTH, MAX_BACKOFF_S, describe, is_outage

__all__ = ["Isolating"]

log = logging.getLogger(__name__)


def _merge(total: BatchOutcome, part: BatchOutcome) -> None:
    total.stored += part.stored
    total.duplicates += part.duplicates
    total.users_refreshed += part.users_refreshed
    total.dead_letters.extend(part.dead_letters)
    total.lists_owed = part.lists_owed  # the later part's: what waits after both


class Isolating:
    """Processes one batch; narrows a whole-batch failure to the messages that cause it."""

    def __init__(self, processor: BatchProcessor, lock: asyncio.Lock, preparer: Executor) -> None:
        self.processor, self.lock, self.preparer = processor, lock, preparer

    async def batch(
        self, batch: list[RawMessage], preparing: asyncio.Future, *, backlog: bool = False
    ) -> BatchOutcome:
        try:
            prepared = await preparing
        except Exception as exc:  # noqa: BLE001 - narrowed below, never fatal
            self._failed(len(batch), exc, "storing")
            outcome = BatchOutcome()
            for message in batch:
                _merge(outcome, await self.one(message))
            return outcome
        async with self.lock:
            try:
                return self.processor.apply(prepared, backlog=backlog)
            except Exception as exc:  # noqa: BLE001 - narrowed below, never fatal
                self._failed(len(batch), exc, "learning")
                # Stored already: what was not learned is learned event by event.
                outcome = BatchOutcome(dead_letters=list(prepared.dead_letters))
                outcome.stored = len(prepared.stored)
                outcome.duplicates = prepared.size - len(prepared.dead_letters) - outcome.stored
                for single in self.processor.unlearned(prepared):
                    try:
                        done = self.processor.apply(single)
                        outcome.dead_letters.extend(done.dead_letters)
                    except Exception as exc:  # noqa: BLE001 - isolated to this message
                        outcome.dead_letters.append(self._dead(single.stored[0], single, exc))
                return outcome

    @staticmethod
    def _failed(size: int, exc: BaseException, stage: str) -> None:
        log.error(
            "a batch of %d failed as a whole while %s (%s); narrowing it to the failing messages",
            size, stage, describe(exc), exc_info=not is_outage(exc),
        )

    def _dead(self, stored: tuple, single: PreparedBatch, exc: BaseException) -> DeadLetter:
        from reelstream.streaming.metrics import DEAD_LETTERS

        event, _ = stored
        log.error("event %s failed: %s; dead-lettered", event.event_id, describe(exc))
        DEAD_LETTERS.labels("process").inc()
        self.processor.totals["dead_letters"] += 1
        return DeadLetter(single.events[event.event_id][1], describe(exc), "process")

    async def one(self, message: RawMessage) -> BatchOutcome:
        """One message; an outage is waited out, any other failure is a dead letter."""
        loop = asyncio.get_running_loop()
        delay = 0.2
        while True:
            try:
                prepared = await loop.run_in_executor(self.preparer, self.processor.prepare, [message])
                async with self.lock:
                    outcome = self.processor.apply(prepared)
                HEALTH.recovered("processing")
                return outcome
            except Exception as exc:  # noqa: BLE001 - isolated to this message
                if is_outage(exc):
                    HEALTH.degraded("processing", describe(exc))
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, MAX_BACKOFF_S)
                    continue
                from reelstream.streaming.metrics import DEAD_LETTERS

                log.exception("message %s/%d failed; dead-lettered", message.topic, message.offset)
                DEAD_LETTERS.labels("process").inc()
                self.processor.totals["dead_letters"] += 1
                return BatchOutcome(dead_letters=[DeadLetter(message, describe(exc), "process")])
