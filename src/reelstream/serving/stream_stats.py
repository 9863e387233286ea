"""One snapshot of the stream's health for people watching it (``GET /stream/stats``).

Built from what the workers publish about themselves in Redis
(:mod:`reelstream.worker_status`) and from the API's own counters and latency histograms
(:mod:`reelstream.serving.metrics`). Counters are cumulative: a reader computes rates and
recent percentiles from the difference between two snapshots.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reelstream.serving.metrics import LATENCY_BUCKETS, ApiMetrics
from reelstream.worker_status import read_statuses, recent_dead_letters

__all__ = ["LATENCY_ROUTES", "stream_stats", "bucket_quantile"]

LATENCY_ROUTES = (
    ("GET", "/users/{user_id}/recommendations"),
    ("POST", "/ratings"),
)


def bucket_quantile(bounds: tuple[float, ...], counts: list[int], q: float) -> float | None:
    """The ``q`` quantile of a histogram (per-bucket counts, last bucket +Inf), interpolated
    linearly inside its bucket as Prometheus' ``histogram_quantile`` does; None when empty."""
    total = sum(counts)
    if total <= 0:
        return None
    rank, seen, lower = q * total, 0, 0.0
    for bound, count in zip((*bounds, float("inf")), counts):
        if count and seen + count >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - seen) / count
        seen += count
        lower = bound
    return lower


def _bucket_counts(metrics: ApiMetrics, route: str, method: str) -> list[int]:
    """Per-bucket counts (last: +Inf) of the route's 2xx latency histograms, summed over
    status codes (Prometheus keeps cumulative ``le`` buckets)."""
    cumulative = [0.0] * (len(LATENCY_BUCKETS) + 1)
    for family in metrics.request_duration.collect():
        for sample in family.samples:
            labels = sample.labels
            if (
                sample.name.endswith("_bucket")
                and labels.get("route") == route
                and labels.get("method") == method
                and labels.get("status", "").startswith("2")
            ):
                le = float(labels["le"])
                index = len(LATENCY_BUCKETS) if le == float("inf") else LATENCY_BUCKETS.index(le)
                cumulative[index] += sample.value
    return [int(b - a) for a, b in zip([0.0, *cumulative[:-1]], cumulative)]


def _latency(metrics: ApiMetrics) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for method, route in LATENCY_ROUTES:
        counts = _bucket_counts(metrics, route, method)
        p50, p95 = (bucket_quantile(LATENCY_BUCKETS, counts, q) for q in (0.5, 0.95))
        out[f"{method} {route}"] = {
            "bounds_s": list(LATENCY_BUCKETS),
            "counts": counts,
            "count": sum(counts),
            "p50_ms": None if p50 is None else round(p50 * 1000, 3),
            "p95_ms": None if p95 is None else round(p95 * 1000, 3),
        }
    return out


def _counter(metrics: ApiMetrics, name: str, **labels: str) -> int:
    value = metrics.registry.get_sample_value(name, labels or None)
    return int(value or 0)


def stream_stats(
    redis_client: Any,
    prefix: str,
    metrics: ApiMetrics,
    stale_after_s: float,
    dead_letters: int = 5,
) -> dict[str, Any]:
    """The snapshot as a JSON-ready dict (``redis_client``: a synchronous ``redis.Redis``); a
    worker whose heartbeat is older than ``stale_after_s`` is ``stalled`` (the same limit
    ``/health`` uses, ``REELSTREAM_HEALTH_HEARTBEAT_MAX_AGE_S``)."""
    now = datetime.now(UTC)
    workers = []
    for status in read_statuses(redis_client, prefix):
        age = status.heartbeat_age_s(now)
        newest = status.newest_learned_event_at
        stalled = age > stale_after_s
        workers.append(
            {
                "worker_id": status.worker_id,
                "state": status.state,
                "reason": status.reason
                or (f"no heartbeat for {age:.0f} s" if stalled else None),
                "stalled": stalled,
                "heartbeat_at": status.heartbeat_at.isoformat(),
                "heartbeat_age_s": round(age, 3),
                "model_version": status.model_version,
                "lag": {str(p): n for p, n in sorted(status.lag.items())},
                "total_lag": status.total_lag,
                "newest_learned_event_at": newest.isoformat() if newest else None,
                "newest_learned_age_s": round((now - newest).total_seconds(), 3) if newest else None,
                "events_stored": status.events_stored,
                "events_learned": status.events_learned,
                "duplicates": status.duplicates,
                "dead_letters": status.dead_letters,
                "drift": status.drift,
            }
        )
    notes = recent_dead_letters(redis_client, prefix, dead_letters)
    rejected = {
        reason: _counter(metrics, "reelstream_api_events_rejected_total", reason=reason)
        for reason in ("invalid", "unauthorized", "broker_unavailable")
    }
    return {
        "generated_at": now.isoformat(),
        "stale_after_s": stale_after_s,
        "workers": workers,
        "recent_dead_letters": [
            {
                "at": n.at.isoformat(),
                "error": n.error,
                "stage": n.stage,
                "topic": n.topic,
                "partition": n.partition,
                "offset": n.offset,
                "preview": n.preview,
            }
            for n in notes
        ],
        "api": {
            "events_accepted": _counter(metrics, "reelstream_api_events_accepted_total"),
            "events_rejected": rejected,
            "latency": _latency(metrics),
        },
    }
