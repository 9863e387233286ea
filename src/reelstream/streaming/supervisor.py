"""The worker's side of its processor process: batches out, outcomes back, acknowledged in order.

The processor (validate, store, learn, top-N, Redis) runs in a child process
(:mod:`reelstream.streaming.processor_child`): while it works on one batch, the worker already
fills the next, and the two use two cores instead of sharing one GIL. :class:`ProcessorSupervisor`
keeps at most ``batches_in_flight`` batches outstanding (while all are, the batches that come
meanwhile are joined, up to ``join_up_to`` messages) and acknowledges each batch, in order,
once its outcome is back, its dead letters (bad messages, with the error) are accepted by
the broker and its users' lists are in Redis. Under a backlog the processor writes lists
late (coalesced); batches whose lists wait stay unacknowledged until an outcome says none
wait, and when no batch comes for ``flush_after_s``, or ``owe_at_most`` events wait, the
supervisor asks for them with an empty batch. So a worker that dies leaves those batches to
its partitions' next owner, which finds their events stored and writes the lists they lack.
Nothing here ends the worker:

- store and cache outages are waited out inside the processor;
- a dead letter the broker does not take is sent again with backoff (the batch stays
  unacknowledged meanwhile, and :attr:`ProcessorSupervisor.reason` says why);
- if the processor process dies, a new one is started (it restores the checkpoint and learns
  what this worker stored after it), and the batches not acknowledged are sent to it again, in
  order: what the dead one had stored is a duplicate then, so nothing is learned twice. A batch
  that kills the processor again is split in halves, down to the one message that does: that
  message is dead-lettered. Restarts back off, up to ``restart_backoff_s`` apart.

It knows nothing of Faust: ``stream_processor/agents.py`` hands it the batches, a way to
acknowledge one, and a way to send a dead letter.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable, Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

from reelstream.errors import describe
from reelstream.streaming.messages import BatchOutcome, DeadLetter, RawMessage
from reelstream.streaming.processor_child import ProcessorDied
from reelstream.streaming.resilience import MAX_BACKOFF_S

__all__ = ["Processor", "ProcessorSupervisor"]

log = logging.getLogger(__name__)

#: What the caller acknowledges a batch by (Faust: the batch's events).
Token = TypeVar("Token")


class Processor(Protocol):
    """What the supervisor needs of a processor (:class:`ProcessorChild` in the worker)."""

    @property
    def alive(self) -> bool: ...

    async def submit_batch(self, batch: list[RawMessage]) -> asyncio.Future[BatchOutcome]: ...

    async def handle(self, batch: list[RawMessage]) -> BatchOutcome: ...

    async def send_status(self, status: dict[str, Any]) -> None: ...

    async def close(self) -> None: ...


class ProcessorSupervisor(Generic[Token]):
    """Runs batches through a processor process that may die, in order, losing none."""

    def __init__(
        self,
        start: Callable[[], Awaitable[Processor]],
        send_dead_letter: Callable[[DeadLetter], Awaitable[None]],
        *,
        batches_in_flight: int,
        join_up_to: int = 0,
        flush_after_s: float = 0.05,
        owe_at_most: int = 50_000,
        first_restart_delay_s: float = 1.0,
        restart_backoff_s: float = 30.0,
        dead_letter_retry_s: float = 0.5,
    ) -> None:
        self._start = start
        self._send_dead_letter = send_dead_letter
        self.batches_in_flight = batches_in_flight
        self.join_up_to = join_up_to  # 0: batches are never joined
        self.flush_after_s = flush_after_s
        self.owe_at_most = owe_at_most  # bounds the memory held and the offsets not committed
        #: Tokens of finished batches whose lists still wait, oldest first, and their events.
        self.owed: list[Token] = []
        self._owed_events = 0
        self.first_restart_delay_s = first_restart_delay_s
        self.restart_backoff_s = restart_backoff_s
        self.dead_letter_retry_s = dead_letter_retry_s
        self.restarts = 0
        #: Why the worker is degraded on this side (the dead-letter topic refusing), or None.
        self.reason: str | None = None
        self.current: Processor | None = None
        self._starting = asyncio.Lock()
        self._recovering = asyncio.Lock()  # held while unacknowledged batches are resent

    async def processor(self) -> Processor:
        """The processor, started on first use and again whenever it died (it restores the
        checkpoint and learns what PostgreSQL holds after it while the worker consumes)."""
        async with self._starting:
            if self.current is None or not self.current.alive:
                if self.current is not None:
                    self.restarts += 1
                    delay = min(
                        self.first_restart_delay_s * 2.0 ** (self.restarts - 1),
                        self.restart_backoff_s,
                    )
                    log.error("processor process died; starting a new one in %.0f s", delay)
                    await asyncio.sleep(delay)
                self.current = await self._start()
        return self.current

    async def run(
        self,
        batches: AsyncIterable[tuple[Token, list[RawMessage]]],
        acknowledge: Callable[[Token], Awaitable[None]],
    ) -> None:
        """Submit each batch and take the next while the processor works; a finisher
        acknowledges the batches in order once their outcome is back.

        While every slot is taken, the batches that keep coming are joined to the one
        waiting, up to ``join_up_to`` messages: the source never pauses for the processor,
        and a processor that fell behind gets fewer, larger batches."""
        await self.processor()
        slots = asyncio.Semaphore(self.batches_in_flight)
        in_flight: asyncio.Queue[tuple[list[Token], list[RawMessage], asyncio.Future[BatchOutcome]]]
        in_flight = asyncio.Queue()
        finisher = asyncio.ensure_future(self._finish_in_order(in_flight, acknowledge, slots))
        source = aiter(batches)
        taking: asyncio.Future = asyncio.ensure_future(anext(source))
        slot: asyncio.Future | None = None
        try:
            while True:
                try:
                    token, first = await taking
                except StopAsyncIteration:
                    break
                tokens, batch = [token], list(first)
                taking = asyncio.ensure_future(anext(source))  # the next, while this one waits
                slot = asyncio.ensure_future(slots.acquire())  # at most N batches in flight
                while not slot.done() and len(batch) < self.join_up_to:
                    await asyncio.wait({slot, taking}, return_when=asyncio.FIRST_COMPLETED)
                    if slot.done() or taking.exception() is not None:
                        break  # the source's end (or failure) is met at the top of the loop
                    token, more = taking.result()
                    tokens.append(token)
                    batch.extend(more)
                    taking = asyncio.ensure_future(anext(source))
                await slot
                slot = None
                # After a processor death, the finisher resends the older batches first (to a
                # new processor it starts); until then this one is queued as failed, not sent.
                async with self._recovering:
                    in_flight.put_nowait((tokens, batch, await self._submit(batch)))
            for _ in range(self.batches_in_flight):  # the stream ended: finish what is in flight
                await slots.acquire()
            finisher.cancel()
            if self.owed:
                await self._ask_for_lists(acknowledge)
        finally:
            for pending in (taking, slot):
                if pending is not None:
                    pending.cancel()
            finisher.cancel()

    async def _submit(self, batch: list[RawMessage]) -> asyncio.Future[BatchOutcome]:
        processor = self.current
        try:
            if processor is None or not processor.alive:
                raise ProcessorDied("the processor process is gone")
            return await processor.submit_batch(batch)
        except ProcessorDied as exc:
            failed: asyncio.Future[BatchOutcome] = asyncio.get_running_loop().create_future()
            failed.set_exception(exc)
            return failed

    async def _finish_in_order(
        self,
        in_flight: asyncio.Queue[tuple[list[Token], list[RawMessage], asyncio.Future[BatchOutcome]]],
        acknowledge: Callable[[Token], Awaitable[None]],
        slots: asyncio.Semaphore,
    ) -> None:
        """Per batch, oldest first: wait for its outcome, send its dead letters, then
        acknowledge it, or keep it until its lists are written."""
        while True:
            if self.owed:  # lists wait: ask for them once no batch comes for a while
                try:
                    item = await asyncio.wait_for(in_flight.get(), self.flush_after_s)
                except TimeoutError:
                    await self._ask_for_lists(acknowledge)
                    continue
            else:
                item = await in_flight.get()
            tokens, batch, outcome = item
            try:
                done = await outcome
            except ProcessorDied as exc:
                log.error("%s; the unacknowledged batches go to a new one", exc)
                async with self._recovering:
                    done = await self._reprocess(batch)
                    await self._finish(tokens, len(batch), done, acknowledge, slots)
                    while not in_flight.empty():  # all sent to the dead processor
                        tokens, batch, outcome = in_flight.get_nowait()
                        if outcome.done() and not outcome.exception():
                            done = outcome.result()
                        else:
                            outcome.exception() if outcome.done() else outcome.cancel()
                            done = await self._reprocess(batch)
                        await self._finish(tokens, len(batch), done, acknowledge, slots)
                continue
            await self._finish(tokens, len(batch), done, acknowledge, slots)

    async def _finish(
        self,
        tokens: list[Token],
        size: int,
        done: BatchOutcome,
        acknowledge: Callable[[Token], Awaitable[None]],
        slots: asyncio.Semaphore,
    ) -> None:
        for letter in done.dead_letters:
            await self.dead_letter(letter)
        self.owed.extend(tokens)
        self._owed_events += size
        if not done.lists_owed:
            await self._acknowledge_owed(acknowledge)
        slots.release()
        if self._owed_events >= self.owe_at_most:
            await self._ask_for_lists(acknowledge)

    async def _ask_for_lists(self, acknowledge: Callable[[Token], Awaitable[None]]) -> None:
        """An empty batch: the processor writes every waiting list and says so (a processor
        started anew wrote them while it recovered)."""
        try:
            done = await (await self.processor()).handle([])
        except ProcessorDied:
            return  # asked again after the next pause
        if not done.lists_owed:
            await self._acknowledge_owed(acknowledge)

    async def _acknowledge_owed(self, acknowledge: Callable[[Token], Awaitable[None]]) -> None:
        owed, self.owed, self._owed_events = self.owed, [], 0
        for token in owed:
            await acknowledge(token)

    async def _reprocess(self, batch: list[RawMessage]) -> BatchOutcome:
        """``batch`` on a new processor; if that dies too, each half on its own, down to the
        one message that kills it, which is dead-lettered."""
        processor = await self.processor()
        try:
            return await processor.handle(batch)
        except ProcessorDied:
            if len(batch) == 1:
                message = batch[0]
                log.error("message %s/%d kills the processor; dead-lettered", message.topic, message.offset)
                return BatchOutcome(
                    dead_letters=[DeadLetter(message, "the processor process died on this message", "process")]
                )
        half = len(batch) // 2
        first, second = await self._reprocess(batch[:half]), await self._reprocess(batch[half:])
        first.stored += second.stored
        first.duplicates += second.duplicates
        first.users_refreshed += second.users_refreshed
        first.dead_letters.extend(second.dead_letters)
        first.lists_owed = second.lists_owed
        return first

    async def dead_letter(self, letter: DeadLetter) -> None:
        """Send until the broker accepts it; the batch waits (an outage of the broker)."""
        delay, since = self.dead_letter_retry_s, None
        while True:
            try:
                await self._send_dead_letter(letter)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - waited out, never fatal
                if since is None:
                    since = time.monotonic()
                    log.warning("dead letter not accepted by the broker (%s); retrying", describe(exc))
                self.reason = f"dead-letter topic: {describe(exc)}"
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
                continue
            if since is not None:
                log.warning("dead letter sent after %.1f s", time.monotonic() - since)
                self.reason = None
            return

    async def send_status(self, lag: dict[int, int], reason: str | None, unread: int = 0) -> None:
        """The worker's part of the heartbeat, published by the processor (no-op before it
        started); ``unread``: events its consumer has not read yet."""
        if self.current is not None:
            await self.current.send_status(
                {"lag": lag, "reason": reason, "restarts": self.restarts, "unread": unread}
            )

    async def close(self) -> None:
        """Checkpoint the model and stop the processor (a graceful stop of the worker)."""
        if self.current is not None:
            await self.current.close()
            log.info("processor closed (checkpoint saved)")
