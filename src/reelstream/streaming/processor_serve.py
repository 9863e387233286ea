"""The processor process itself: batches from the worker over a ``Connection``, prepared on a
thread and applied in order, outcomes sent back (the worker's side:
:mod:`reelstream.streaming.processor_child`)."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

from threadpoolctl import threadpool_limits

from reelstream.models.online_item_item import ItemItemTerm
from reelstream.processes import die_with_parent
from reelstream.streaming.channel import AsyncConnection
from reelstream.streaming.gc_pauses import keep_full_collections_short
from reelstream.streaming.messages import (
    BatchRequest,
    Closed,
    CloseRequest,
    RawMessage,
    StatusReport,
)

if TYPE_CHECKING:
    from reelstream.streaming.heartbeat import Heartbeat
    from reelstream.streaming.processor import BatchProcessor

__all__ = ["main"]

log = logging.getLogger(__name__)

#: After a full batch, how long no next batch means the backlog is over (the worker sends
#: the next one within a millisecond or two while its consumer has more).
LISTS_IDLE_S = 0.02


def _die_with_parent(parent: int) -> None:
    """Linux: SIGKILL this process when the worker dies (a crash must not leave it running)."""
    die_with_parent()  # elsewhere the closed socket still ends it, after the batch in hand
    if os.getppid() != parent:  # the worker died before prctl took effect (it may be PID 1)
        os._exit(0)


async def _read_requests(
    channel: AsyncConnection, requests: asyncio.Queue, heartbeat: Heartbeat
) -> None:
    try:
        while True:
            request = await channel.recv()
            if isinstance(request, StatusReport):  # no reply: the heartbeat's lag, taken at once
                heartbeat.from_worker(request.fields)
                if heartbeat.processor is not None:  # lists wait longer while it catches up
                    heartbeat.processor.lists.unread = int(request.fields.get("unread", 0))
            else:
                requests.put_nowait(request)
    except EOFError:
        requests.put_nowait(None)  # the worker is gone


async def _next_request(
    requests: asyncio.Queue, staged: deque, processor: BatchProcessor, lock: asyncio.Lock
) -> BatchRequest | CloseRequest | None:
    """The next request; when lists are waiting and no batch comes within
    :data:`LISTS_IDLE_S`, the backlog is over: they are written first. While the worker
    catches up (its consumer reported many events unread), such a pause is only a gap
    between two fetches: just the lists that waited their maximum delay are written."""
    while not staged and processor.lists_waiting:
        try:
            return await asyncio.wait_for(requests.get(), LISTS_IDLE_S)
        except TimeoutError:
            async with lock:
                try:
                    processor.write_lists(due_only=processor.lists.catching_up)
                except Exception:  # noqa: BLE001 - they stay waiting; never fatal
                    log.exception("writing the waiting lists failed; retried after the next batch")
                    break
    return await requests.get()


async def _serve(conn: Connection) -> None:
    """Prepare (validate + store) each batch on a thread as soon as it arrives, and apply
    (learn + Redis) the batches in order on the loop: the next batch's PostgreSQL round trips
    overlap this batch's learning."""
    from concurrent.futures import ThreadPoolExecutor

    from reelstream.settings import get_settings
    from reelstream.streaming.heartbeat import Heartbeat, start_metrics_server
    from reelstream.streaming.isolation import Isolating
    from reelstream.streaming.forget import listen_for_forgets
    from reelstream.streaming.item_stream import apply_while_idle
    from reelstream.streaming.shadow import live_gate_loop
    from reelstream.streaming.wiring import build_processor, listen_for_promotions

    settings = get_settings()
    heartbeat = Heartbeat(settings, start_metrics_server(settings)).start()
    channel = AsyncConnection(conn)
    requests: asyncio.Queue = asyncio.Queue()
    reading = asyncio.create_task(_read_requests(channel, requests, heartbeat))
    processor = await asyncio.to_thread(build_processor, settings)
    heartbeat.processor = processor
    lock = asyncio.Lock()  # batches and model swaps never interleave
    promotions = asyncio.create_task(listen_for_promotions(settings, processor, lock))
    forgets = asyncio.create_task(listen_for_forgets(settings, processor, lock))
    sharing = asyncio.create_task(apply_while_idle(processor, lock))  # item state, when idle
    gating = asyncio.create_task(live_gate_loop(settings, processor, lock))
    preparer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare")  # in order
    isolating = Isolating(processor, lock, preparer)
    loop = asyncio.get_running_loop()
    staged: deque[tuple[list[RawMessage], asyncio.Future]] = deque()
    full, last_full = settings.worker_batch_size, -math.inf
    closing = False
    try:
        while True:
            # Start preparing every batch already sent (the worker bounds how many); wait
            # for a request only when there is nothing left to apply.
            while not closing and (not staged or not requests.empty()):
                request = await _next_request(requests, staged, processor, lock)
                if request is None:
                    log.warning("the worker is gone; exiting without a checkpoint (recovery covers it)")
                    return
                if isinstance(request, CloseRequest):
                    closing = True
                    break
                batch = request.messages
                staged.append((batch, loop.run_in_executor(preparer, processor.prepare, batch)))
            if staged:
                batch, preparing = staged.popleft()
                # Full batches mean the worker's consumer has more waiting: lists may wait
                # (a backlog also yields some partial batches, when a batch window closes).
                # So does a next batch already here: when the processor is the bottleneck,
                # Faust's window closes before a batch fills. And so does the consumer's
                # report of many events still unread (it comes with the heartbeat).
                now = time.monotonic()
                if len(batch) >= full:
                    last_full = now
                held = now - last_full < processor.config.list_max_delay_s
                queued = bool(staged) or not requests.empty()
                # An empty batch is the worker asking for every waiting list.
                backlog = bool(batch) and (held or queued or processor.lists.catching_up)
                outcome = await isolating.batch(batch, preparing, backlog=backlog)
                if outcome.dead_letters:
                    heartbeat.note_dead_letters(outcome.dead_letters)
                await channel.send(outcome)
            elif closing:  # every batch sent before "close" is applied and answered
                async with lock:
                    processor.checkpoint()
                    processor.close()
                log.info("checkpoint saved on shutdown")
                await channel.send(Closed())
                return
    finally:
        promotions.cancel()
        forgets.cancel()
        sharing.cancel()
        gating.cancel()
        reading.cancel()
        preparer.shutdown(wait=False, cancel_futures=True)
        heartbeat.stop()
        channel.close()


def main(argv: Sequence[str]) -> None:
    fd, loglevel, parent = int(argv[0]), argv[1], int(argv[2])
    _die_with_parent(parent)
    # The worker decides when to stop (it sends "close"); a Ctrl-C reaching the whole
    # process group must not kill the child before it checkpoints.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(
        level=loglevel.upper(),
        format=f"[%(asctime)s] [{os.getpid()}] [%(levelname)s] processor: %(message)s",
    )
    # One BLAS thread: the worker's other process and the stack have the other core.
    threadpool_limits(1, user_api="blas")
    ItemItemTerm.fit_in_background()  # no rating waits for an item-item refit
    keep_full_collections_short()  # a full collection would stop the stream while it scans
    asyncio.run(_serve(Connection(fd)))


if __name__ == "__main__":
    main(sys.argv[1:])
