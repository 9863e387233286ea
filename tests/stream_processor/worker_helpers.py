"""Helpers shared by the worker process tests."""

from __future__ import annotations

import time

import pytest

from reelstream.models import OnlineRecommender
from reelstream.store import EventStore


def wait_for(predicate, timeout_s: float, what: str, detail=None) -> None:
    """Poll ``predicate``; on time-out fail with ``detail()`` (e.g. counts, log tails)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}"
                + (f"\n{detail()}" if detail else ""))


def log_tails(workers, lines: int = 25) -> str:
    """The last ``lines`` of each worker's log, for a failure message."""
    return "\n".join(
        f"--- {w.log_path.name}\n" + "\n".join(w.log_text().splitlines()[-lines:]) for w in workers
    )


def stored(settings) -> int:
    with EventStore(settings.postgres_dsn) as store:
        return store.count_ratings()


def learned(settings, worker_id: str) -> int:
    with EventStore(settings.postgres_dsn) as store:
        checkpoint = store.load_checkpoint(worker_id)
    return OnlineRecommender.from_bytes(checkpoint.model).events_learned if checkpoint else 0
