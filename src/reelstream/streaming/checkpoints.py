"""Checkpoints of the model, written off the hot path.

Serialising the model is done by the caller, between two batches, so the bytes and the
sequence number they go with are one consistent snapshot. Writing those bytes to PostgreSQL
(several MB) then happens on one background thread with its own connection, while the next
batches are processed. At most one write is in flight: a checkpoint that falls due while the
previous one is still being written waits for the next batch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from reelstream.store import EventStore

__all__ = ["BackgroundCheckpoints", "Checkpointer", "Snapshot"]

log = logging.getLogger(__name__)

#: The model's bytes, its offsets (``seq``: the last event it learned; ``items``: the last
#: shared item delta it applied, when item state is shared), how many events it learned.
Snapshot = tuple[bytes, dict[str, int | str], int]


class BackgroundCheckpoints:
    """One background writer of checkpoints, with its own PostgreSQL connection."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._store: EventStore | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint")
        self._pending: Future[None] | None = None

    @property
    def busy(self) -> bool:
        return self._pending is not None and not self._pending.done()

    def submit(
        self, name: str, model: bytes, offsets: dict[str, int | str], events_learned: int
    ) -> Future[None]:
        """Start writing one checkpoint; the caller checks :attr:`busy` first."""
        if self.busy:
            raise RuntimeError("a checkpoint is still being written")
        self._pending = self._executor.submit(self._write, name, model, offsets, events_learned)
        return self._pending

    def wait(self) -> None:
        """Block until the write in flight (if any) is done; raises what it raised."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._executor.shutdown(wait=True)
            if self._store is not None:
                self._store.close()
                self._store = None

    def _write(
        self, name: str, model: bytes, offsets: dict[str, int | str], events_learned: int
    ) -> None:
        try:
            if self._store is None:
                self._store = EventStore(self.dsn)
            self._store.save_checkpoint(name, model, offsets, events_learned)
        except Exception:
            if self._store is not None:  # a broken connection is reopened next time
                self._store.close()
                self._store = None
            raise


class Checkpointer:
    """When to checkpoint (every N events or T seconds) and the writes themselves.

    The stream stands still while a snapshot is taken, and a large model takes long to
    serialise: a checkpoint is never taken sooner after the last one than its cost divided
    by ``max_share``, so checkpoints take at most that share of the processor's time
    whatever the model's size (a restart then re-learns more events).
    """

    def __init__(
        self, name: str, dsn: str, every_events: int, every_s: float, max_share: float = 0.02
    ) -> None:
        self.name = name
        self.every_events = every_events
        self.every_s = every_s
        self.max_share = max_share
        self.since = 0  # events learned since the last checkpoint
        self.cost_s = 0.0  # CPU time the last snapshot stopped the stream for
        self._at = time.monotonic()
        self._background = BackgroundCheckpoints(dsn)

    def learned(self, events: int) -> None:
        self.since += events

    @property
    def due(self) -> bool:
        elapsed = time.monotonic() - self._at
        by_count = self.since >= self.every_events
        return (
            bool(self.since)
            and (by_count or elapsed >= self.every_s)
            and elapsed * self.max_share >= self.cost_s
        )

    def maybe(self, snapshot: Callable[[], Snapshot]) -> None:
        """When due and no write is in flight: take the snapshot now, write it in the background."""
        if self._background.busy:
            return
        try:
            self._background.wait()  # surfaces a failed write of the previous checkpoint
        except Exception:
            log.exception("checkpoint write failed; retrying after the next batch")
            self.since = max(self.since, self.every_events)
        if self.due:
            self._background.submit(self.name, *self._take(snapshot))
            self._reset()

    def now(self, snapshot: Callable[[], Snapshot]) -> None:
        """Write a checkpoint and wait for it (an older snapshot never lands after it)."""
        try:
            self._background.wait()
        except Exception:
            log.warning("an earlier background checkpoint failed; this one supersedes it")
        self._background.submit(self.name, *self._take(snapshot))
        self._background.wait()
        self._reset()

    def wait(self) -> None:
        """Block until the write in flight (if any) is done; raises what it raised."""
        self._background.wait()

    def close(self) -> None:
        """Finish a write in flight and close its connection."""
        self._background.close()

    def _take(self, snapshot: Callable[[], Snapshot]) -> Snapshot:
        started = time.thread_time()
        taken = snapshot()
        self.cost_s = time.thread_time() - started
        return taken

    def _reset(self) -> None:
        self.since = 0
        self._at = time.monotonic()
