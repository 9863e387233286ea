"""``reelstream worker-health``: is this worker's heartbeat fresh? (a container health check).

Also the worker table of ``reelstream stack status`` (:func:`worker_lines`).

The heartbeat is read from the worker's own Prometheus endpoint when it serves one
(``REELSTREAM_WORKER_METRICS_PORT``): that answers even while Redis is down and the worker is
waiting the outage out. Without metrics, the worker's status record in Redis is read, by
``REELSTREAM_WORKER_ID`` (the host name by default, so inside a container it is that
replica's record). Exit 0 when the heartbeat is fresh, also while the worker reports itself
degraded (it is alive and retrying; restarting it would not help); 1 when it is stale, missing
or unreadable.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

import typer

from reelstream.cli._common import console, fail
from reelstream.health import HealthThresholds, WorkerSummary, summarize
from reelstream.settings import Settings

__all__ = ["app", "worker_lines", "read_worker_summaries", "HEARTBEAT_METRIC"]

#: Unix time of the worker's last heartbeat (a gauge the worker exports).
HEARTBEAT_METRIC = "reelstream_worker_heartbeat_timestamp_seconds"


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s ago"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def _lag(summary: WorkerSummary) -> str:
    parts = " ".join(f"{p}:{n}" for p, n in summary.lag.items())
    return f"{summary.total_lag} ({parts})" if parts else str(summary.total_lag)


def worker_lines(summaries: Sequence[WorkerSummary]) -> list[str]:
    """The workers as aligned text lines, header first."""
    rows = [("worker", "state", "heartbeat", "lag (total, partition:lag)", "newest learned",
             "model")]  # fmt: skip
    for w in summaries:
        state = f"{w.state}: {w.reason}" if w.reason and w.state != "ok" else w.state
        rows.append((w.worker_id, state, _ago(w.heartbeat_age_s), _lag(w),
                     _ago(w.newest_learned_event_age_s), w.model_version or "-"))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1]
        for row in rows
    ]


def read_worker_summaries(settings: Settings, timeout_s: float = 2.0) -> list[WorkerSummary]:
    """Every worker's record in Redis, summarised now (raises ``redis.RedisError``)."""
    import redis

    from reelstream.worker_status import read_statuses

    client = redis.Redis.from_url(
        settings.redis_url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
    )
    try:
        statuses = read_statuses(client, settings.redis_prefix)
    finally:
        client.close()
    now, limits = datetime.now(UTC), HealthThresholds.from_settings(settings)
    return [summarize(s, now, limits) for s in statuses]


def heartbeat_age_from_metrics(url: str, timeout_s: float = 2.0) -> float | None:
    """Seconds since the heartbeat the worker's ``/metrics`` reports (None: none yet)."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    response = httpx.get(url, timeout=timeout_s)
    response.raise_for_status()
    beats = [
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == HEARTBEAT_METRIC and sample.value > 0  # 0: not set yet
    ]
    return max(0.0, time.time() - max(beats)) if beats else None


app = typer.Typer()  # reelstream worker-health


@app.command("worker-health")
def worker_health(
    worker_id: Annotated[
        str | None, typer.Option(help="Worker to check (default: REELSTREAM_WORKER_ID).")
    ] = None,
    max_age: Annotated[
        float | None,
        typer.Option(help="Stale after this many seconds "
                     "(default: REELSTREAM_HEALTH_HEARTBEAT_MAX_AGE_S)."),  # fmt: skip
    ] = None,
    source: Annotated[
        str, typer.Option(help="metrics, redis, or auto (metrics when the port is set).")
    ] = "auto",
) -> None:
    """Exit 0 if this worker's heartbeat is fresh, 1 if stale, missing or unreadable. Needs the worker on this host (its metrics port) or Redis."""
    from reelstream.settings import get_settings

    settings = get_settings()
    limit = settings.health_heartbeat_max_age_s if max_age is None else max_age
    wid = worker_id or settings.worker_id
    if source not in ("auto", "metrics", "redis"):
        fail(f"--source must be metrics, redis or auto, not {source!r}", code=2)
    use_metrics = source == "metrics" or (source == "auto" and settings.worker_metrics_port)
    if use_metrics:
        url = f"http://127.0.0.1:{settings.worker_metrics_port}/metrics"
        try:
            age = heartbeat_age_from_metrics(url)
        except Exception as exc:  # noqa: BLE001 - unreachable metrics = unhealthy
            fail(f"worker {wid}: metrics unreadable at {url}: {type(exc).__name__}")
        if age is None:
            fail(f"worker {wid}: no heartbeat yet ({HEARTBEAT_METRIC} at {url})")
        state = "ok"
    else:
        try:
            mine = [w for w in read_worker_summaries(settings) if w.worker_id == wid]
        except Exception as exc:  # noqa: BLE001
            fail(f"worker {wid}: status unreadable from Redis: {type(exc).__name__}")
        if not mine:
            fail(f"worker {wid}: no heartbeat recorded")
        age, state = mine[0].heartbeat_age_s, mine[0].state
        if mine[0].reason:
            state = f"{state} ({mine[0].reason})"
    if age > limit:
        fail(f"worker {wid}: heartbeat {age:.1f} s old (stale after {limit:g} s)")
    console.print(f"worker {wid}: heartbeat {age:.1f} s ago, {state}",
                  markup=False, highlight=False)  # fmt: skip
