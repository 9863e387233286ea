"""The end-to-end demo: embedded stack → worker → MovieLens replay → PostgreSQL → Redis → HTTP.

Each step prints one line; the run is idempotent (event ids are stable, so a second run
stores nothing twice). Used by ``reelstream demo`` (``make demo``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from reelstream.kafka import committed_offsets
from reelstream.settings import Settings
from reelstream.store import EventStore

if TYPE_CHECKING:
    from reelstream.training.registry import RegistryOutcome

__all__ = ["wait_until_consumed", "expected_events", "serve_api", "stored_events"]

#: The service's app factory, called with the demo's settings.
API_FACTORY = "api.main:create_app"


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


@contextmanager
def serve_api(settings: Settings) -> Iterator[str]:
    """The real API on ``settings.api_host:api_port`` (uvicorn in a thread); yields its URL."""
    import uvicorn

    from uvicorn.importer import import_from_string

    create_app = import_from_string(API_FACTORY)  # by name: the library does not import api/
    config = uvicorn.Config(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the API did not start on port {settings.api_port}")
        time.sleep(0.05)
    try:
        yield f"http://{settings.api_host}:{settings.api_port}"
    finally:
        server.should_exit = True
        thread.join(10)


def retrain_and_promote(
    settings: Settings, newest_replayed: datetime
) -> tuple[RegistryOutcome, dict[str, float]]:
    """The nightly pipeline once, on the replayed events; announce a promotion to the workers.

    The cut-off is one second after the newest replayed rating: the ratings the demo posts
    over HTTP afterwards are left out, so re-running the demo on the same data reuses the run
    instead of registering a new version.
    """
    from reelstream.champion_channel import announce_promotion
    from reelstream.training.data import load_params, postgres_snapshot
    from reelstream.training.run import retrain_once

    end = newest_replayed + timedelta(seconds=1)
    ratings = postgres_snapshot(settings.postgres_dsn, end)
    outcome, result = retrain_once(ratings, settings, end.isoformat(), load_params())
    if outcome.promoted and not outcome.reused:
        announce_promotion(settings, outcome.version)
    return outcome, result.metrics if result is not None else outcome.metrics


def wait_for_log(path: Path, text: str, timeout_s: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return True
        time.sleep(0.2)
    return False
