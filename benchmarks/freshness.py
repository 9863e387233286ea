"""``reelstream bench freshness``: how soon a rating posted over HTTP shows in the user's
recommendations, while a background load posts ratings at a fixed rate.

On a scratch corner of the configured stack (:func:`~benchmarks.scratch.scratch_settings`:
own schema, topics, group and Redis prefix):

1. pre-load history: the oldest ``preload`` ratings of the dataset are replayed to Kafka and
   the movies upserted, and a real worker (:class:`~reelstream.streaming.process.WorkerProcess`)
   consumes them, so users and movies exist;
2. start the API (``uvicorn api.main:app`` subprocess, as ``bench api`` does);
3. open loop: ``POST /ratings`` is *scheduled* at ``rate``/s for ``duration_s`` (bounded by
   ``max_posts``), on loopback only. Every ``sample_every``-th post is a sample: from the moment
   its POST is sent, ``GET /users/{id}/recommendations`` is polled every ``poll_interval_s``
   until the answer's ``last_event_id`` is the posted event; that time is its freshness. A
   sample not seen within ``sample_timeout_s`` is a miss (counted, not in the percentiles).

The worker writes, per batch, each touched user's list with the *newest* event of that user
as ``last_event_id``. So that a sample cannot be overtaken by a later rating of the same user,
samples are posted for users reserved for sampling (one sample in flight per user), the
background posts for the other users.

Step 3 can run for several worker batching windows (``worker_batch_within_s``) in one run: the
worker is restarted with each (it resumes from its committed offsets) while the API keeps
running, so the windows compare side by side.
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.freshness_load import BENCH_API_KEY, open_loop
from reelstream.settings import Settings
from reelstream.streaming.process import WorkerProcess

__all__ = ["FreshnessConfig", "FreshnessResult", "run_freshness_bench", "freshness_summary"]



@dataclass(frozen=True)
class FreshnessConfig:
    preload: int = 20_000  # oldest ratings replayed before measuring
    rate: float = 200.0  # POST /ratings per second (open loop)
    duration_s: float = 20.0  # per batching window
    max_posts: int = 20_000  # hard cap per window, whatever rate * duration says
    sample_every: int = 10  # 1 post in N is a sample (20 samples/s at 200/s)
    poll_interval_s: float = 0.002
    sample_timeout_s: float = 5.0
    connections: int = 16  # keep-alive connections for posts (and as many for polls)
    batch_within_s: tuple[float | None, ...] = (None,)  # None: the configured window
    # Worker fetch waits to compare (REELSTREAM_KAFKA_FETCH_MAX_WAIT_MS); None: the configured
    # one. The broker answers a fetch as soon as a record arrives; the wait bounds idle polls.
    fetch_max_wait_ms: tuple[int | None, ...] = (None,)
    seed: int = 0


@dataclass(frozen=True)
class FreshnessResult:
    batch_within_s: float
    fetch_max_wait_ms: int
    posted: int  # POSTs answered 202
    failed_posts: int  # POSTs answered otherwise, or not at all
    seconds: float  # wall time of the load
    freshness_ms: np.ndarray  # one per sample seen
    missed: int  # samples not seen within the timeout (or whose POST failed)
    polls: int  # GETs sent by the samplers
    post_latency_ms: np.ndarray = field(default_factory=lambda: np.empty(0))

    @property
    def samples(self) -> int:
        return len(self.freshness_ms)

    @property
    def post_rate(self) -> float:
        return self.posted / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        return float(np.percentile(self.freshness_ms, q)) if self.samples else float("nan")

    def post_pct(self, q: float) -> float:
        return (
            float(np.percentile(self.post_latency_ms, q))
            if len(self.post_latency_ms) else float("nan")
        )


def freshness_summary(freshness_ms: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 (ms) of freshness samples; NaN when there are none."""
    values = np.asarray(freshness_ms, dtype=float)
    if not len(values):
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99)}


def split_users(users: Sequence[int], sample_share: float, seed: int) -> tuple[list[int], list[int]]:
    """Disjoint (sample users, background users), both non-empty, from the known users."""
    if len(users) < 2:
        raise ValueError("need at least two users in the pre-loaded history")
    shuffled = list(users)
    random.Random(seed).shuffle(shuffled)
    k = min(len(shuffled) - 1, max(1, round(len(shuffled) * sample_share)))
    return shuffled[:k], shuffled[k:]


# --- the whole run ----------------------------------------------------------------------------
@contextmanager
def without_collector_pauses() -> Iterator[None]:
    """No garbage collection in this process while it measures (as ``timeit`` does): a full
    collection of the loaded dataset stops the pollers ~100 ms and would be counted as
    freshness of the samples in flight."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def run_freshness_bench(
    settings: Settings,
    ratings: pd.DataFrame,
    movies: Sequence[object],
    config: FreshnessConfig,
    log_dir: Path,
    log: Callable[[str], None] = print,
) -> list[FreshnessResult]:
    """Run the benchmark (module docstring); one result per batching window in the config."""
    from reelstream.replay import replay
    from benchmarks.api import serve
    from reelstream.processes import free_port
    from benchmarks.scratch import scratch_settings
    from reelstream.demo import wait_until_consumed
    from reelstream.store import EventStore

    results = []
    rng = random.Random(config.seed)
    with scratch_settings(settings, "bench_fresh") as scratch:
        with EventStore(scratch.postgres_dsn) as store:
            store.upsert_movies(movies)
        log(f"pre-loading the oldest {config.preload:,} ratings")
        report = replay(scratch, ratings, limit=config.preload)
        history = ratings.sort_values("timestamp", kind="stable").head(config.preload)
        users = sorted(int(u) for u in history["user_id"].unique())
        known_movies = sorted(int(m) for m in history["movie_id"].unique())
        sample_users, background_users = split_users(users, 0.5, config.seed)

        api_port = free_port()
        env = os.environ | scratch.to_env() | {
            "REELSTREAM_ENVIRONMENT": "development",
            "REELSTREAM_API_KEY": BENCH_API_KEY,
        }
        first = True
        with serve("api.main:app", api_port, env, log_dir / "bench-freshness-api.log"):
            variants = [(w, f) for w in config.batch_within_s for f in config.fetch_max_wait_ms]
            for within, fetch_wait in variants:
                window = scratch.worker_batch_within_s if within is None else within
                fetch_wait = scratch.kafka_fetch_max_wait_ms if fetch_wait is None else fetch_wait
                run_settings = scratch.model_copy(
                    update={"worker_batch_within_s": window, "kafka_fetch_max_wait_ms": fetch_wait}
                )
                worker = WorkerProcess(run_settings, log_dir / "bench-freshness-worker.log")
                worker.start()
                try:
                    ready = worker.wait_ready(120)
                    log(
                        f"worker (batch window {window * 1000:g} ms, fetch_max_wait "
                        f"{fetch_wait} ms) "
                        f"ready after {ready:.1f} s"
                    )
                    if first:
                        log("waiting for the worker to consume the pre-loaded history")
                        wait_until_consumed(run_settings, report.end_offsets, timeout_s=900)
                        first = False
                    log(
                        f"posting {config.rate:g} ratings/s for {config.duration_s:g} s "
                        f"({len(users)} users, {len(sample_users)} reserved for samples)"
                    )
                    with without_collector_pauses():
                        out = asyncio.run(
                            open_loop(
                                f"http://127.0.0.1:{api_port}", config, sample_users,
                                background_users, known_movies, rng,
                            )
                        )
                    if worker.proc is not None and worker.proc.poll() is not None:
                        raise RuntimeError(
                            f"the worker exited (code {worker.proc.returncode}) during the load; "
                            f"see {worker.log_path}"
                        )
                finally:
                    worker.stop()
                posted, failed, seconds, fresh, missed, polls, post_ms = out
                results.append(
                    FreshnessResult(
                        batch_within_s=window, fetch_max_wait_ms=fetch_wait, posted=posted,
                        failed_posts=failed, seconds=seconds, freshness_ms=np.asarray(fresh),
                        missed=missed, polls=polls, post_latency_ms=np.asarray(post_ms),
                    )
                )
    return results
