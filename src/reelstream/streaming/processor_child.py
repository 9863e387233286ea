"""The worker's :class:`BatchProcessor` in a child process, fed batches over a socket pair.

Why a second process: Faust's consume path (fetch, decode, queue, ack) and the processing
(validate, store, learn, top-N, Redis) each cost about as much CPU per event as the other,
and in one process they share one GIL, so the worker ran at the sum of the two. With the
processor in a child, the Faust process fills the next batch while the child works on this
one, and the two run on two cores.

Inside the child, each batch is prepared (validated and stored in PostgreSQL) on a thread as
soon as it arrives, while the loop applies the previous one (learn, top-N, Redis): the
PostgreSQL round trips of one batch overlap the learning of the other. Batches are applied
in the order they were sent.

Semantics stay those of the inline processor: the agent acknowledges a batch only after its
outcome came back (at-least-once; at most ``worker_batches_in_flight`` are outstanding); the
child holds the model, the checkpoints and the promotion listener, so batches and model swaps
still never interleave.

A batch that fails as a whole (an exception no per-message check caught) is processed again
message by message: each message that still fails becomes a dead letter, the rest are stored
and learned (what the failed attempt already stored is a duplicate then, so nothing is learned
twice; :mod:`reelstream.streaming.isolation`). Outages are waited out inside the batch, never
turned into dead letters.

The child dies with the worker (``PR_SET_PDEATHSIG``, and it exits when the socket closes);
on a graceful stop the worker asks it to checkpoint first. If the child dies on its own, the
worker starts a new one and sends it the unacknowledged batches again
(``stream_processor.agents``). The child also publishes the worker's heartbeat
(:mod:`reelstream.streaming.heartbeat`); the worker sends it the consumer lag in status
frames, which get no reply.

Frames are a 4-byte big-endian length and a pickle (both ends are this module).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

from reelstream.settings import Settings
from reelstream.streaming.messages import BatchOutcome, DeadLetter, RawMessage

if TYPE_CHECKING:
    from reelstream.streaming.heartbeat import Heartbeat

__all__ = ["ProcessorChild", "ProcessorDied"]

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">I")


class ProcessorDied(RuntimeError):
    """The processor process exited or failed a batch; the batch was not processed."""


async def _write_frame(writer: asyncio.StreamWriter, obj: object) -> None:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    writer.write(_HEADER.pack(len(payload)) + payload)
    await writer.drain()


async def _read_frame(reader: asyncio.StreamReader) -> object:
    (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    return pickle.loads(await reader.readexactly(size))


class ProcessorChild:
    """Worker side: start the child, submit batches (pipelined: the child works on one while
    the next is sent), get their outcomes in order, close it."""

    def __init__(self, settings: Settings, loglevel: str = "info") -> None:
        self.settings = settings
        self.loglevel = loglevel
        self._proc: subprocess.Popen[bytes] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._waiting: deque[tuple[Sequence[RawMessage], asyncio.Future]] = deque()
        self._replies: asyncio.Task | None = None
        self._gone: ProcessorDied | None = None

    async def start(self) -> ProcessorChild:
        ours, theirs = socket.socketpair()
        env = {**os.environ, **self.settings.to_env()}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", __name__, str(theirs.fileno()), self.loglevel, str(os.getpid())],
            pass_fds=(theirs.fileno(),),
            env=env,
        )
        theirs.close()
        reader, self._writer = await asyncio.open_connection(sock=ours)
        self._replies = asyncio.ensure_future(self._read_replies(reader))
        return self

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    async def _read_replies(self, reader: asyncio.StreamReader) -> None:
        """Replies come in request order: each resolves the oldest waiting request."""
        try:
            while True:
                reply = await _read_frame(reader)
                batch, future = self._waiting.popleft()
                if reply[0] == "error":
                    future.set_exception(ProcessorDied(f"the processor failed a batch:\n{reply[1]}"))
                elif not future.done():
                    future.set_result(_outcome(batch, reply))
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            code = self._proc.poll() if self._proc else None
            self._gone = ProcessorDied(f"the processor process is gone (exit code {code})")
            self._gone.__cause__ = exc
            while self._waiting:
                _, future = self._waiting.popleft()
                if not future.done():
                    future.set_exception(self._gone)

    async def submit(self, request: tuple, batch: Sequence[RawMessage] = ()) -> asyncio.Future:
        """Send ``request`` now; the returned future resolves with its outcome."""
        assert self._writer is not None, "start() first"
        if self._gone is not None:
            raise self._gone
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((batch, future))
        try:
            await _write_frame(self._writer, request)
        except ConnectionError as exc:
            raise ProcessorDied("the processor process is gone") from exc
        return future

    async def send_status(self, status: dict) -> None:
        """The worker's part of the heartbeat (lag, reason); no reply. A dead child is ignored
        here: the next batch finds out."""
        if self._writer is None or self._gone is not None:
            return
        try:
            await _write_frame(self._writer, ("status", status))
        except (ConnectionError, RuntimeError):
            pass

    @property
    def alive(self) -> bool:
        return self._gone is None and self._proc is not None and self._proc.poll() is None

    async def submit_batch(self, batch: Sequence[RawMessage]) -> asyncio.Future:
        """Send ``batch``; the future resolves with its :class:`BatchOutcome`, whose dead
        letters carry the messages of ``batch``."""
        wire = [(m.value, m.key, m.topic, m.partition, m.offset) for m in batch]
        return await self.submit(("batch", wire), batch)

    async def handle(self, batch: Sequence[RawMessage]) -> BatchOutcome:
        """Process ``batch`` and wait for its outcome (no pipelining)."""
        return await (await self.submit_batch(batch))

    async def close(self, timeout_s: float = 60.0) -> None:
        """Checkpoint the model and stop the child (a graceful stop of the worker); batches
        sent before are processed first."""
        if self._proc is None or self._proc.poll() is not None:
            return
        try:
            await asyncio.wait_for(await self.submit(("close",)), timeout_s)
        except (ProcessorDied, TimeoutError):
            log.exception("the processor did not close cleanly")
        finally:
            if self._writer is not None:
                self._writer.close()
            try:
                await asyncio.to_thread(self._proc.wait, timeout_s)
            except subprocess.TimeoutExpired:
                self._proc.kill()
            if self._replies is not None:
                self._replies.cancel()


def _outcome(batch: Sequence[RawMessage], reply: tuple) -> BatchOutcome | None:
    if reply[0] != "ok":
        return None
    _, stored, duplicates, refreshed, letters = reply
    return BatchOutcome(
        stored=stored,
        duplicates=duplicates,
        users_refreshed=refreshed,
        dead_letters=[DeadLetter(batch[i], error, stage) for i, error, stage in letters],
    )


# -- the child ------------------------------------------------------------------------------
def _die_with_parent(parent: int) -> None:
    """Linux: SIGKILL this process when the worker dies (a crash must not leave it running)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # elsewhere the closed socket still ends it, after the batch in hand
    if os.getppid() != parent:  # the worker died before prctl took effect (it may be PID 1)
        os._exit(0)


def _outcome_reply(batch: Sequence[RawMessage], outcome: BatchOutcome) -> tuple:
    index = {id(m): i for i, m in enumerate(batch)}
    letters = [(index[id(d.message)], d.error, d.stage) for d in outcome.dead_letters]
    return ("ok", outcome.stored, outcome.duplicates, outcome.users_refreshed, letters)


async def _read_requests(
    reader: asyncio.StreamReader, requests: asyncio.Queue, heartbeat: Heartbeat
) -> None:
    try:
        while True:
            request = await _read_frame(reader)
            if request[0] == "status":  # not a request: the heartbeat's lag, taken at once
                heartbeat.from_worker(request[1])
            else:
                requests.put_nowait(request)
    except (asyncio.IncompleteReadError, ConnectionError):
        requests.put_nowait(None)  # the worker is gone


async def _serve(sock: socket.socket) -> None:
    """Prepare (validate + store) each batch on a thread as soon as it arrives, and apply
    (learn + Redis) the batches in order on the loop: the next batch's PostgreSQL round trips
    overlap this batch's learning."""
    from concurrent.futures import ThreadPoolExecutor

    from reelstream.settings import get_settings
    from reelstream.streaming.heartbeat import Heartbeat, start_metrics_server
    from reelstream.streaming.isolation import Isolating
    from reelstream.streaming.item_sync import apply_while_idle
    from reelstream.streaming.worker import build_processor, listen_for_promotions

    settings = get_settings()
    heartbeat = Heartbeat(settings, start_metrics_server(settings)).start()
    reader, writer = await asyncio.open_connection(sock=sock)
    requests: asyncio.Queue = asyncio.Queue()
    reading = asyncio.create_task(_read_requests(reader, requests, heartbeat))
    processor = await asyncio.to_thread(build_processor, settings)
    heartbeat.processor = processor
    lock = asyncio.Lock()  # batches and model swaps never interleave
    promotions = asyncio.create_task(listen_for_promotions(settings, processor, lock))
    sharing = asyncio.create_task(apply_while_idle(processor, lock))  # item state, when idle
    preparer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare")  # in order
    isolating = Isolating(processor, lock, preparer)
    loop = asyncio.get_running_loop()
    staged: deque[tuple[list[RawMessage], asyncio.Future]] = deque()
    closing = False
    try:
        while True:
            # Start preparing every batch already sent (the worker bounds how many); wait
            # for a request only when there is nothing left to apply.
            while not closing and (not staged or not requests.empty()):
                request = await requests.get()
                if request is None:
                    log.warning("the worker is gone; exiting without a checkpoint (recovery covers it)")
                    return
                if request[0] == "close":
                    closing = True
                    break
                batch = [RawMessage(*fields) for fields in request[1]]
                staged.append((batch, loop.run_in_executor(preparer, processor.prepare, batch)))
            if staged:
                batch, preparing = staged.popleft()
                outcome = await isolating.batch(batch, preparing)
                if outcome.dead_letters:
                    heartbeat.note_dead_letters(outcome.dead_letters)
                await _write_frame(writer, _outcome_reply(batch, outcome))
            elif closing:  # every batch sent before "close" is applied and answered
                async with lock:
                    processor.checkpoint()
                    processor.close()
                log.info("checkpoint saved on shutdown")
                await _write_frame(writer, ("closed",))
                return
    finally:
        promotions.cancel()
        sharing.cancel()
        reading.cancel()
        preparer.shutdown(wait=False, cancel_futures=True)
        heartbeat.stop()


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
    asyncio.run(_serve(socket.socket(fileno=fd)))


if __name__ == "__main__":
    main(sys.argv[1:])
