"""Agents: the ratings agent (batches → the processor process → dead letters).

The processor (validate, store, learn, top-N, Redis) runs in a child process
(:mod:`reelstream.streaming.processor_child`): while it works on one batch, this process
already fills the next, and the two use two cores instead of sharing one GIL. The child also
follows champion promotions, so model swaps still fall between two batches.

Batches come from ``noack_take``: Faust acknowledges nothing by itself. A finisher task
acknowledges each batch, in order, once its outcome is back and its dead letters (bad
messages, with the error) are on the dead-letter topic, acknowledged by the broker. Nothing
here ends the worker:

- store and cache outages are waited out inside the processor;
- a dead letter the broker does not take is sent again with backoff (the batch stays
  unacknowledged meanwhile, and the worker reports itself degraded);
- if the processor process dies, a new one is started (it restores the checkpoint and learns
  what this worker stored after it), and the batches not acknowledged are sent to it again, in
  order: what the dead one had stored is a duplicate then, so nothing is learned twice. A batch
  that kills the processor again is split in halves, down to the one message that does: that
  message is dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
import time

from reelstream.kafka import bootstrap_servers, broker_port_open_async
from reelstream.streaming.faust_tuning import committed_offset
from reelstream.streaming.messages import BatchOutcome, DeadLetter, RawMessage
from reelstream.streaming.processor_child import ProcessorChild, ProcessorDied
from reelstream.streaming.resilience import MAX_BACKOFF_S, describe
from stream_processor.app import app, settings
from stream_processor.topics import dead_letter_topic, ratings_topic

log = logging.getLogger(__name__)

_state: dict = {"restarts": 0, "reason": None}
_starting = asyncio.Lock()
_recovering = asyncio.Lock()  # held while unacknowledged batches are sent to a new processor
_RESTART_BACKOFF_S = 30.0


async def _processor() -> ProcessorChild:
    """The worker's processor process, started on first use and again whenever it died (it
    restores the checkpoint and learns what PostgreSQL holds after it while Faust consumes)."""
    async with _starting:
        current = _state.get("processor")
        if current is None or not current.alive:
            if current is not None:
                _state["restarts"] += 1
                delay = min(2.0 ** (_state["restarts"] - 1), _RESTART_BACKOFF_S)
                log.error("processor process died; starting a new one in %.0f s", delay)
                await asyncio.sleep(delay)
            loglevel = logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower()
            _state["processor"] = await ProcessorChild(settings, loglevel).start()
    return _state["processor"]


def _raw(events) -> list[RawMessage]:
    return [
        RawMessage(
            value=e.message.value,
            key=e.message.key,
            topic=e.message.topic,
            partition=e.message.partition,
            offset=e.message.offset,
        )
        for e in events
    ]


@app.agent(ratings_topic)
async def process_ratings(stream):
    """Submit each batch to the processor and take the next while it works; a finisher
    acknowledges the batches in order once their outcome is back."""
    await _processor()
    slots = asyncio.Semaphore(settings.worker_batches_in_flight)
    in_flight: asyncio.Queue = asyncio.Queue()
    finisher = asyncio.ensure_future(_finish_in_order(stream, in_flight, slots))
    try:
        async for events in stream.noack_take(
            settings.worker_batch_size, within=settings.worker_batch_within_s
        ):
            batch = _raw(events)
            await slots.acquire()  # back-pressure: at most N batches in flight
            # After a processor death, the finisher resends the older batches first (to a new
            # processor it starts); until then this one is queued as failed, not sent.
            async with _recovering:
                processor = _state["processor"]
                try:
                    if not processor.alive:
                        raise ProcessorDied("the processor process is gone")
                    outcome = await processor.submit_batch(batch)
                except ProcessorDied as exc:
                    outcome = asyncio.get_running_loop().create_future()
                    outcome.set_exception(exc)
            in_flight.put_nowait((events, batch, outcome))
    finally:
        finisher.cancel()


async def _finish_in_order(stream, in_flight: asyncio.Queue, slots: asyncio.Semaphore) -> None:
    """Per batch, oldest first: wait for its outcome, send its dead letters (acknowledged by
    the broker), then acknowledge its events."""
    while True:
        events, batch, outcome = await in_flight.get()
        try:
            done = await outcome
        except ProcessorDied as exc:
            log.error("%s; the unacknowledged batches go to a new one", exc)
            async with _recovering:
                done = await _reprocess(batch)
                await _acknowledge(stream, events, done, slots)
                while not in_flight.empty():  # all sent to the dead processor
                    events, batch, outcome = in_flight.get_nowait()
                    if outcome.done() and not outcome.exception():
                        done = outcome.result()
                    else:
                        outcome.exception() if outcome.done() else outcome.cancel()
                        done = await _reprocess(batch)
                    await _acknowledge(stream, events, done, slots)
            continue
        await _acknowledge(stream, events, done, slots)


async def _acknowledge(stream, events, done: BatchOutcome, slots: asyncio.Semaphore) -> None:
    for letter in done.dead_letters:
        await _send_dead_letter(letter)
    for event in events:
        await stream.ack(event)
    slots.release()


async def _reprocess(batch: list[RawMessage]) -> BatchOutcome:
    """``batch`` on a new processor; if that dies too, each half on its own, down to the one
    message that kills it, which is dead-lettered."""
    processor = await _processor()
    try:
        return await processor.handle(batch)
    except ProcessorDied:
        if len(batch) == 1:
            log.error("message %s/%d kills the processor; dead-lettered", batch[0].topic, batch[0].offset)
            return BatchOutcome(
                dead_letters=[DeadLetter(batch[0], "the processor process died on this message", "process")]
            )
    half = len(batch) // 2
    first, second = await _reprocess(batch[:half]), await _reprocess(batch[half:])
    first.stored += second.stored
    first.duplicates += second.duplicates
    first.users_refreshed += second.users_refreshed
    first.dead_letters.extend(second.dead_letters)
    return first


async def _send_dead_letter(letter: DeadLetter) -> None:
    """Send until the broker acknowledges it; the batch waits (an outage of the broker)."""
    delay, since = 0.5, None
    while True:
        try:
            fut = await dead_letter_topic.send(
                key=letter.message.key, value=letter.message.value or b"", headers=letter.headers()
            )
            await fut
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - waited out, never fatal
            if since is None:
                since = time.monotonic()
                log.warning("dead letter not accepted by the broker (%s); retrying", describe(exc))
            _state["reason"] = f"dead-letter topic: {describe(exc)}"
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_S)
            continue
        if since is not None:
            log.warning("dead letter sent after %.1f s", time.monotonic() - since)
            _state["reason"] = None
        return


@app.timer(interval=settings.worker_heartbeat_s)
async def report_lag() -> None:
    """Send the consumer lag per partition (end offset − committed offset) to the processor,
    which publishes the heartbeat."""
    processor = _state.get("processor")
    if processor is None:
        return
    consumer = app.consumer
    lag: dict[int, int] = {}
    assigned = [tp for tp in consumer.assignment() if tp.topic == settings.ratings_topic]
    for tp in assigned:
        end = consumer.highwater(tp)
        if end is None or end < 0:
            continue
        committed = committed_offset(consumer, tp)
        lag[tp.partition] = max(0, end - (committed or 0))
    reason = _state["reason"] or await _broker_unreachable()
    if not assigned:  # a worker of the group always holds a partition (partitions ≥ workers)
        reason = reason or f"no partition of {settings.ratings_topic} assigned (rebalancing, or the broker is away)"
    await processor.send_status({"lag": lag, "reason": reason, "restarts": _state["restarts"]})


async def _broker_unreachable() -> str | None:
    """A reason when none of the bootstrap servers accepts a connection (cheap: one connect
    attempt per heartbeat; the Kafka client's own errors only reach its log)."""
    servers = bootstrap_servers(settings)
    if await broker_port_open_async(servers, timeout_s=0.5):
        return None
    return f"broker unreachable ({', '.join(servers)})"


@app.on_before_shutdown.connect
async def checkpoint_on_shutdown(app, **kwargs) -> None:
    processor = _state.get("processor")
    if processor is not None:
        await processor.close()
        log.info("processor closed (checkpoint saved)")
