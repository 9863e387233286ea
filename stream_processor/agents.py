"""Agents: the ratings agent (batches → the processor process → dead letters).

The processor (validate, store, learn, top-N, Redis) runs in a child process
(:mod:`reelstream.streaming.processor_child`): while it works on one batch, this process
already fills the next, and the two use two cores instead of sharing one GIL. The child also
follows champion promotions, so model swaps still fall between two batches.

Batches come from ``noack_take``: Faust acknowledges nothing by itself. A finisher task
acknowledges each batch, in order, once its outcome is back and its dead letters (bad
messages, with the error) are on the dead-letter topic, acknowledged by the broker; store and
cache outages are retried inside the processor. If the processor process dies, or a dead
letter cannot be sent, the worker exits at once, before the batch is acknowledged: it is
redelivered when the worker restarts, and the event-id check makes the redelivery harmless.
"""

from __future__ import annotations

import asyncio
import logging
import os

from reelstream.streaming.messages import RawMessage
from reelstream.streaming.processor_child import ProcessorChild, ProcessorDied
from stream_processor.app import app, settings
from stream_processor.topics import dead_letter_topic, ratings_topic

log = logging.getLogger(__name__)

_state: dict[str, ProcessorChild] = {}
_starting = asyncio.Lock()


async def _processor() -> ProcessorChild:
    """The worker's one processor process, started on first use (it restores the checkpoint
    and learns what PostgreSQL holds after it while Faust joins the group)."""
    async with _starting:
        if "processor" not in _state:
            loglevel = logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower()
            _state["processor"] = await ProcessorChild(settings, loglevel).start()
    return _state["processor"]


@app.agent(ratings_topic)
async def process_ratings(stream):
    """Submit each batch to the processor and take the next while it works; a finisher
    acknowledges the batches in order once their outcome is back."""
    processor = await _processor()
    slots = asyncio.Semaphore(settings.worker_batches_in_flight)
    in_flight: asyncio.Queue = asyncio.Queue()
    finisher = asyncio.ensure_future(_finish_in_order(stream, in_flight, slots))
    try:
        async for events in stream.noack_take(
            settings.worker_batch_size, within=settings.worker_batch_within_s
        ):
            batch = [
                RawMessage(
                    value=e.message.value,
                    key=e.message.key,
                    topic=e.message.topic,
                    partition=e.message.partition,
                    offset=e.message.offset,
                )
                for e in events
            ]
            await slots.acquire()  # back-pressure: at most N batches in flight
            try:
                outcome = await processor.submit_batch(batch)
            except ProcessorDied:
                _exit_unacknowledged()
            in_flight.put_nowait((events, outcome))
    finally:
        finisher.cancel()


async def _finish_in_order(stream, in_flight: asyncio.Queue, slots: asyncio.Semaphore) -> None:
    """Per batch, oldest first: wait for its outcome, send its dead letters (acknowledged by
    the broker), then acknowledge its events. Anything failing here stops the worker before
    the batch is acknowledged."""
    while True:
        events, outcome = await in_flight.get()
        try:
            done = await outcome
            for letter in done.dead_letters:
                fut = await dead_letter_topic.send(
                    key=letter.message.key, value=letter.message.value or b"", headers=letter.headers()
                )
                await fut
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the processor died or the DLQ is unreachable
            _exit_unacknowledged()
        for event in events:
            await stream.ack(event)
        slots.release()


def _exit_unacknowledged() -> None:
    log.critical("batch not processed; exiting before it is acknowledged", exc_info=True)
    os._exit(70)  # EX_SOFTWARE: the supervisor restarts the worker, the batch is redelivered


@app.on_before_shutdown.connect
async def checkpoint_on_shutdown(app, **kwargs) -> None:
    processor = _state.get("processor")
    if processor is not None:
        await processor.close()
        log.info("processor closed (checkpoint saved)")
