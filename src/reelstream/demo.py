"""The end-to-end demo: embedded stack → worker → MovieLens replay → PostgreSQL → Redis → HTTP.

Each step prints one line; the run is idempotent (event ids are stable, so a second run
stores nothing twice). Used by ``reelstream demo`` (``make demo``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from reelstream.kafka import committed_offsets
from reelstream.settings import Settings
from reelstream.store import EventStore

__all__ = ["wait_until_consumed", "DemoReport"]


@dataclass(frozen=True)
class DemoReport:
    published: int
    publish_s: float
    stored_before: int
    stored_after: int
    ingest_s: float

    @property
    def new_events(self) -> int:
        return self.stored_after - self.stored_before


def wait_until_consumed(
    settings: Settings,
    end_offsets: dict[int, int],
    timeout_s: float = 600.0,
    on_wait: Callable[[int], None] | None = None,
) -> None:
    """Block until the worker group has committed every offset a producer was acked for.

    The worker commits only after storing and learning, so this means "all processed".
    """
    deadline = time.monotonic() + timeout_s
    while True:
        committed = committed_offsets(settings, settings.consumer_group, settings.ratings_topic)
        behind = sum(max(end - committed.get(p, 0), 0) for p, end in end_offsets.items())
        if behind == 0:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the worker is still {behind:,} events behind after {timeout_s:.0f} s")
        if on_wait is not None:
            on_wait(behind)
        time.sleep(0.5)


def expected_events(ratings: pd.DataFrame) -> int:
    """Distinct rating events in a dataset (the event id is derived from user, movie, time)."""
    return int(len(ratings.drop_duplicates(["user_id", "movie_id", "timestamp"])))


def log_dir(settings: Settings) -> Path:
    path = Path(settings.state_dir) / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def stored_events(settings: Settings) -> int:
    with EventStore(settings.postgres_dsn) as store:
        return store.count_ratings()
