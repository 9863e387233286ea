"""Agents: the ratings agent (batches → the processor process → dead letters) and the lag report.

The logic — batches in flight, in-order acknowledgement, restarting a dead processor,
bisecting a batch that kills it, dead letters sent with backoff — is
:class:`reelstream.streaming.supervisor.ProcessorSupervisor`; this module only wires Faust to
it: batches come from ``noack_take`` (Faust acknowledges nothing by itself), the supervisor
acknowledges them through ``stream.ack`` and sends dead letters to the dead-letter topic.
"""

from __future__ import annotations

import logging

from reelstream.kafka import bootstrap_servers, broker_port_open_async
from reelstream.streaming.faust_tuning import committed_offset, read_offset
from reelstream.streaming.messages import DeadLetter, RawMessage
from reelstream.streaming.processor_child import ProcessorChild
from reelstream.streaming.supervisor import ProcessorSupervisor
from stream_processor.app import app, settings
from stream_processor.topics import dead_letter_topic, ratings_topic

log = logging.getLogger(__name__)


async def _start_processor() -> ProcessorChild:
    loglevel = logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower()
    return await ProcessorChild(settings, loglevel).start()


async def _send_dead_letter(letter: DeadLetter) -> None:
    sent = await dead_letter_topic.send(
        key=letter.message.key, value=letter.message.value or b"", headers=letter.headers()
    )
    await sent  # acknowledged by the broker


supervisor: ProcessorSupervisor = ProcessorSupervisor(
    _start_processor,
    _send_dead_letter,
    batches_in_flight=settings.worker_batches_in_flight,
    join_up_to=settings.worker_batch_size,
)


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
    """Every batch through the supervisor, acknowledged once it is done."""

    async def batches():
        async for events in stream.noack_take(
            settings.worker_batch_size, within=settings.worker_batch_within_s
        ):
            yield events, _raw(events)

    async def acknowledge(events) -> None:
        for event in events:
            await stream.ack(event)

    await supervisor.run(batches(), acknowledge)


@app.timer(interval=settings.worker_heartbeat_s)
async def report_lag() -> None:
    """Send the consumer lag per partition (end offset − committed offset) and the events not
    read yet to the processor, which publishes the heartbeat."""
    if supervisor.current is None:
        return
    consumer = app.consumer
    lag: dict[int, int] = {}
    unread = 0
    assigned = [tp for tp in consumer.assignment() if tp.topic == settings.ratings_topic]
    for tp in assigned:
        end = consumer.highwater(tp)
        if end is None or end < 0:
            continue
        committed = committed_offset(consumer, tp) or 0
        lag[tp.partition] = max(0, end - committed)
        last_read = read_offset(consumer, tp)
        unread += max(0, end - (committed if last_read is None else last_read + 1))
    reason = supervisor.reason or await _broker_unreachable()
    if not assigned:  # a worker of the group always holds a partition (partitions ≥ workers)
        reason = reason or f"no partition of {settings.ratings_topic} assigned (rebalancing, or the broker is away)"
    await supervisor.send_status(lag, reason, unread)


async def _broker_unreachable() -> str | None:
    """A reason when none of the bootstrap servers accepts a connection (cheap: one connect
    attempt per heartbeat; the Kafka client's own errors only reach its log)."""
    servers = bootstrap_servers(settings)
    if await broker_port_open_async(servers, timeout_s=0.5):
        return None
    return f"broker unreachable ({', '.join(servers)})"


@app.on_before_shutdown.connect
async def checkpoint_on_shutdown(app, **kwargs) -> None:
    await supervisor.close()
