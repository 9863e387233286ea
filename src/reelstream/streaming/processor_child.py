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
(:mod:`reelstream.streaming.supervisor`). The child also publishes the worker's heartbeat
(:mod:`reelstream.streaming.heartbeat`); the worker sends it the consumer lag in status
frames, which get no reply.

The two talk over one :class:`multiprocessing.connection.Connection` (a socket pair; the
standard library's length-prefixed pickles), used from asyncio through
:class:`~reelstream.streaming.channel.AsyncConnection`. The child's side is
:mod:`reelstream.streaming.processor_serve`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection

from reelstream.settings import Settings
from reelstream.streaming.channel import AsyncConnection
from reelstream.streaming.messages import (
    BatchOutcome,
    BatchRequest,
    CloseRequest,
    RawMessage,
    StatusReport,
)

__all__ = ["ProcessorChild", "ProcessorDied"]

log = logging.getLogger(__name__)


class ProcessorDied(RuntimeError):
    """The processor process exited or failed a batch; the batch was not processed."""


class ProcessorChild:
    """Worker side: start the child, submit batches (pipelined: the child works on one while
    the next is sent), get their outcomes in order, close it."""

    def __init__(self, settings: Settings, loglevel: str = "info") -> None:
        self.settings = settings
        self.loglevel = loglevel
        self._proc: subprocess.Popen[bytes] | None = None
        self._channel: AsyncConnection | None = None
        self._waiting: deque[asyncio.Future] = deque()
        self._replies: asyncio.Task | None = None
        self._gone: ProcessorDied | None = None

    async def start(self) -> ProcessorChild:
        ours, theirs = socket.socketpair()
        env = {**os.environ, **self.settings.to_env()}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "reelstream.streaming.processor_serve", str(theirs.fileno()),
             self.loglevel, str(os.getpid())],
            pass_fds=(theirs.fileno(),),
            env=env,
        )
        theirs.close()
        self._channel = AsyncConnection(Connection(ours.detach()))
        self._replies = asyncio.ensure_future(self._read_replies(self._channel))
        return self

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    async def _read_replies(self, channel: AsyncConnection) -> None:
        """Replies come in request order: each resolves the oldest waiting request."""
        try:
            while True:
                reply = await channel.recv()  # a BatchOutcome, or Closed
                future = self._waiting.popleft()
                if not future.done():
                    future.set_result(reply)
        except EOFError as exc:
            code = self._proc.poll() if self._proc else None
            self._gone = ProcessorDied(f"the processor process is gone (exit code {code})")
            self._gone.__cause__ = exc
            while self._waiting:
                future = self._waiting.popleft()
                if not future.done():
                    future.set_exception(self._gone)

    async def submit(self, request: BatchRequest | CloseRequest) -> asyncio.Future:
        """Send ``request`` now; the returned future resolves with its reply."""
        assert self._channel is not None, "start() first"
        if self._gone is not None:
            raise self._gone
        future = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        try:
            await self._channel.send(request)
        except OSError as exc:
            raise ProcessorDied("the processor process is gone") from exc
        return future

    async def send_status(self, status: dict) -> None:
        """The worker's part of the heartbeat (lag, reason); no reply. A dead child is ignored
        here: the next batch finds out."""
        if self._channel is None or self._gone is not None:
            return
        try:
            await self._channel.send(StatusReport(status))
        except (OSError, RuntimeError):
            pass

    @property
    def alive(self) -> bool:
        return self._gone is None and self._proc is not None and self._proc.poll() is None

    async def submit_batch(self, batch: Sequence[RawMessage]) -> asyncio.Future:
        """Send ``batch``; the future resolves with its :class:`BatchOutcome`."""
        return await self.submit(BatchRequest(list(batch)))

    async def handle(self, batch: Sequence[RawMessage]) -> BatchOutcome:
        """Process ``batch`` and wait for its outcome (no pipelining)."""
        return await (await self.submit_batch(batch))

    async def close(self, timeout_s: float = 60.0) -> None:
        """Checkpoint the model and stop the child (a graceful stop of the worker); batches
        sent before are processed first."""
        if self._proc is None or self._proc.poll() is not None:
            return
        try:
            await asyncio.wait_for(await self.submit(CloseRequest()), timeout_s)
        except (ProcessorDied, TimeoutError):
            log.exception("the processor did not close cleanly")
        finally:
            if self._channel is not None:
                self._channel.close()
            try:
                await asyncio.to_thread(self._proc.wait, timeout_s)
            except subprocess.TimeoutExpired:
                self._proc.kill()
            if self._replies is not None:
                self._replies.cancel()

