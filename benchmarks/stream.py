"""``reelstream bench stream``: the worker's end-to-end rate beside a raw Faust consumer.

Both read the same pre-loaded topic on the same broker in one run: the worker validates,
stores in PostgreSQL, learns and writes Redis; the raw agent only counts. Also reported: the
worker's time to become ready, its peak memory (VmHWM of the Faust process plus the processes
it starts: the processor and its item-item refit process), and the time of one top-N over the
catalogue on the model the worker ended with.

The worker's clock stops when PostgreSQL holds every event (polled every 100 ms; the last
batch is learned and cached milliseconds after its insert), not when the committed offsets
reach the end: Faust commits every few seconds, a large share of a run this short. The
committed offsets are still awaited afterwards, untimed, as the check that all was processed.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from benchmarks.scratch import scratch_settings
from reelstream.cache import RecommendationCache
from reelstream.demo import wait_until_consumed
from reelstream.models import OnlineRecommender
from reelstream.params import resolve_params
from reelstream.replay import replay
from reelstream.schemas import RatingEvent
from reelstream.settings import Settings
from reelstream.store import EventStore
from reelstream.streaming.process import WorkerProcess

__all__ = ["StreamBench", "bench_stream"]


@dataclass(frozen=True)
class StreamBench:
    events: int
    worker_ready_s: float
    worker_s: float
    raw_faust_s: float  # Faust's consumer as it ships (fetch wait 1500 ms)
    raw_worker_consumer_s: float  # the same agent with the worker's consumer settings
    peak_rss_mb: float  # the Faust process and its processor process, summed
    processor_peak_rss_mb: float  # of which the processor process and its refit process
    topn_us: float
    movies: int
    lists_written: float | None  # from the worker's metrics (None when they are off)
    stored: int
    live_seconds: dict[str, float] | None = None  # processor time of live evaluation, by role
    challenger: str | None = None  # the shadow challenger's settings (None: without one)

    @property
    def worker_per_s(self) -> float:
        return self.events / self.worker_s

    @property
    def raw_per_s(self) -> float:
        return self.events / self.raw_faust_s

    @property
    def raw_worker_consumer_per_s(self) -> float:
        return self.events / self.raw_worker_consumer_s

    @property
    def ratio(self) -> float:
        return self.worker_per_s / self.raw_per_s

    @property
    def ratio_same_consumer(self) -> float:
        return self.worker_per_s / self.raw_worker_consumer_per_s


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _descendants(pid: int) -> list[int]:
    """Children, theirs and so on (the processor process and its item-item refit process)."""
    found = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        found += [int(child), *_descendants(int(child))]
    return found


def _raw_faust(settings: Settings, expected: int, timeout_s: float, consumer: str) -> float:
    env = {**os.environ, **settings.to_env()}
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.faust_raw", str(expected), consumer],
        env=env, capture_output=True, text=True, timeout=timeout_s, check=False,
    )
    # Faust's worker routes stdout through its logger: find the JSON line in either stream.
    found = re.search(r'\{"events": \d+, "seconds": [0-9.e-]+\}', out.stdout + out.stderr)
    if found:
        return float(json.loads(found.group(0))["seconds"])
    raise RuntimeError(f"raw Faust consumer failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")


def _wait_all_stored(settings: Settings, expected: int, timeout_s: float) -> None:
    """Poll every 100 ms, counting only the rows stored since the last poll (through the
    ``(ingested_by, seq)`` index): a full ``count(*)`` ten times a second cost PostgreSQL
    several percent of a core, taken from the worker being measured."""
    deadline = time.monotonic() + timeout_s
    stored, last_seq = 0, 0
    with EventStore(settings.postgres_dsn) as store:
        while stored < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the worker stored {stored:,} of {expected:,} events")
            count, top = store.connection.execute(
                "SELECT count(*), max(seq) FROM ratings WHERE ingested_by = %s AND seq > %s",
                (settings.worker_id, last_seq),
            ).fetchone()
            stored, last_seq = stored + count, top or last_seq
            if stored < expected:
                time.sleep(0.1)


def _wait_last_list(settings: Settings, last: RatingEvent | None, timeout_s: float) -> None:
    """Until the list of the last event's user includes it: the worker writes the lists it
    kept waiting (under a backlog) together, so that one is among the last written."""
    if last is None:
        return
    cache = RecommendationCache.from_settings(settings)
    deadline = time.monotonic() + timeout_s
    while True:
        cached = cache.get_user_recommendations(last.user_id)
        if cached is not None and cached.last_event_at and cached.last_event_at >= last.timestamp:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"user {last.user_id}'s list never included their last event")
        time.sleep(0.005)


def _worker_metrics(settings: Settings) -> dict[str, list] | None:
    """The worker's metric families by name (None when its endpoint is off or silent)."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    if not settings.worker_metrics_port:
        return None
    try:
        text = httpx.get(f"http://127.0.0.1:{settings.worker_metrics_port}/metrics").text
    except httpx.HTTPError:
        return None
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def _lists_written(metrics: dict[str, list] | None) -> float | None:
    """``reelstream_worker_lists_written_total``."""
    samples = (metrics or {}).get("reelstream_worker_lists_written")
    if samples is None:
        return None
    return sum(sample.value for sample in samples if sample.name.endswith("_total"))


def _live_seconds(metrics: dict[str, list] | None) -> dict[str, float] | None:
    """``reelstream_worker_live_eval_seconds`` by role."""
    samples = (metrics or {}).get("reelstream_worker_live_eval_seconds")
    if not samples:
        return None
    return {sample.labels["role"]: sample.value for sample in samples}


#: The bench's shadow challenger: the online model itself with another seed, so it costs what
#: a challenger of the champion's kind costs.
BENCH_CHALLENGER = {"seed": 74}


def _with_challenger(settings: Settings, folder: Path, challenger: dict | None) -> Settings:
    """Settings whose params file adds ``challenger`` (a copy of the current one)."""
    import yaml

    if challenger is None:
        return settings
    params = yaml.safe_load(resolve_params(settings.params).read_text()) or {}
    params["challenger"] = challenger
    path = folder / "bench-params.yaml"
    path.write_text(yaml.safe_dump(params))
    return settings.model_copy(update={"params": path.resolve()})


def _topn_us(model: OnlineRecommender, n: int = 10, users: int = 300, passes: int = 3) -> float:
    """Median time of one top-N (as ``bench topn`` reports it), over ``passes`` rounds of
    ``users`` users: the median, because a shared machine's speed wanders second to second."""
    ids = list(model.rated.users())[:users]
    model.recommend(ids[0], n)  # warm
    times = []
    for _ in range(passes):
        for user in ids:
            started = time.perf_counter()
            model.recommend(user, n)
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def bench_stream(
    settings: Settings,
    ratings: pd.DataFrame,
    log_dir: Path,
    limit: int | None = None,
    challenger: dict | None = None,
) -> StreamBench:
    """With ``challenger`` (settings of ``online:`` to change), the worker also runs a shadow
    challenger; live evaluation runs as ``settings.live_eval`` says."""
    with scratch_settings(settings, "bench_stream") as scratch:
        scratch = _with_challenger(scratch, log_dir, challenger)
        report = replay(scratch, ratings, limit=limit)  # pre-load: measure consuming only
        events = report.acknowledged

        worker = WorkerProcess(scratch, log_dir / "bench-worker.log").start()
        try:
            ready_s = worker.wait_ready()
            started = time.perf_counter()
            _wait_all_stored(scratch, events, timeout_s=1800)
            _wait_last_list(scratch, report.last_event, timeout_s=60)
            worker_s = time.perf_counter() - started
            wait_until_consumed(scratch, report.end_offsets, timeout_s=300)
            metrics = _worker_metrics(scratch)
            lists_written, live_seconds = _lists_written(metrics), _live_seconds(metrics)
            pid = worker.proc.pid  # type: ignore[union-attr]
            processor_peak = sum(_peak_rss_mb(child) for child in _descendants(pid))
            peak = _peak_rss_mb(pid) + processor_peak
        finally:
            worker.stop()

        raw_s = _raw_faust(scratch, events, timeout_s=900, consumer="faust")
        raw_same_s = _raw_faust(scratch, events, timeout_s=900, consumer="worker")

        with EventStore(scratch.postgres_dsn) as store:
            stored = store.count_ratings()
            checkpoint = store.load_checkpoint(scratch.worker_id)
        model = OnlineRecommender.from_bytes(checkpoint.model)  # type: ignore[union-attr]
        return StreamBench(
            events=events,
            worker_ready_s=ready_s,
            worker_s=worker_s,
            raw_faust_s=raw_s,
            raw_worker_consumer_s=raw_same_s,
            peak_rss_mb=peak,
            processor_peak_rss_mb=processor_peak,
            topn_us=_topn_us(model),
            movies=len(model.index),
            lists_written=lists_written,
            stored=stored,
            live_seconds=live_seconds,
            challenger=str(challenger) if challenger else None,
        )
