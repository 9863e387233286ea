"""Prometheus metrics of the HTTP API, in a registry of their own.

Each app gets its own :class:`prometheus_client.CollectorRegistry`, so several apps (tests,
benchmarks) can live in one process without "duplicated timeseries" errors.

The two per-request series (request latency, recommendations served) are updated on every
request, so they are kept as plain numbers and exported through a custom collector
(:class:`PerRequestCollector`): prometheus_client's ``Histogram.observe`` plus ``Counter.inc``
(locks, checks, a bucket loop) cost a sizeable share of the fast lane's own work (figures:
``docs/performance.md``, bench api). Only code on the event loop's thread updates them (the
ASGI middleware and async routes; ``/metrics`` renders on the loop too), so they need no lock.
The rarer event counters stay ordinary prometheus_client counters.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

__all__ = ["ApiMetrics", "CONTENT_TYPE_LATEST"]

# Latency buckets centred on the 20 ms p99 target of the recommendations endpoint.
_LATENCY_BUCKETS = (
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)


class LatencySeries:
    """One histogram series: per-bucket counts (the last one is +Inf) and the sum."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(_LATENCY_BUCKETS) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(_LATENCY_BUCKETS, seconds)] += 1  # first bound >= seconds
        self.total += seconds


class PerRequestCollector(Collector):
    """Exports the latency series and served counts (module docstring) in Prometheus' shapes."""

    def __init__(self) -> None:
        self.latency: dict[tuple[str, str, str], LatencySeries] = {}  # (route, method, status)
        self.served: dict[tuple[str, str], int] = {}  # (source, origin) -> responses

    def collect(self) -> Iterator[Metric]:
        histogram = HistogramMetricFamily(
            "reelstream_api_request_duration_seconds", _LATENCY_HELP,
            labels=["route", "method", "status"],
        )
        for labels, series in list(self.latency.items()):
            cumulative, buckets = 0, []
            for bound, count in zip((*_LATENCY_BUCKETS, float("inf")), series.counts):
                cumulative += count
                buckets.append((floatToGoString(bound), cumulative))
            histogram.add_metric(list(labels), buckets, series.total)
        yield histogram
        served = CounterMetricFamily(
            "reelstream_api_recommendations", _SERVED_HELP, labels=["source", "origin"]
        )
        for labels, count in list(self.served.items()):
            served.add_metric(list(labels), count)
        yield served


_LATENCY_HELP = "HTTP request latency by route template, method and status code."
_SERVED_HELP = (
    "Recommendation responses by source: personal = Redis cache hit; "
    "popular = fallback (no cache entry for the user, or Redis unreachable)."
)


class ApiMetrics:
    """The counters and histograms the API exports on ``/metrics``.

    ``per_request`` (default: the ``api_request_metrics`` setting) picks how the two
    per-request series are kept: ``collector`` (the plain numbers above) or
    ``prometheus-client`` (its own ``Histogram`` and ``Counter``, same names and samples);
    ``reelstream bench api --request-metrics`` compares the two.
    """

    def __init__(self, per_request: str | None = None) -> None:
        if per_request is None:
            from reelstream.settings import get_settings

            per_request = get_settings().api_request_metrics
        self.registry = CollectorRegistry(auto_describe=True)
        self.per_request = PerRequestCollector()
        self._library: tuple[Histogram, Counter] | None = None
        self._served_children: dict[tuple[str, str], Any] = {}
        if per_request == "prometheus-client":
            self._library = (
                Histogram(
                    "reelstream_api_request_duration_seconds", _LATENCY_HELP,
                    ["route", "method", "status"], buckets=_LATENCY_BUCKETS,
                    registry=self.registry,
                ),
                Counter(
                    "reelstream_api_recommendations", _SERVED_HELP, ["source", "origin"],
                    registry=self.registry,
                ),
            )
        elif per_request == "collector":
            self.registry.register(self.per_request)
        else:
            raise ValueError(f"unknown per-request metrics {per_request!r}")
        self.events_accepted = Counter(
            "reelstream_api_events_accepted_total",
            "Rating events acknowledged by the broker (answered 202).",
            registry=self.registry,
        )
        self.events_rejected = Counter(
            "reelstream_api_events_rejected_total",
            "Rating events refused, by reason (invalid, unauthorized, broker_unavailable).",
            ["reason"],
            registry=self.registry,
        )

    def count_served(self, source: str, origin: str) -> None:
        """One more recommendations response from ``source`` (read at ``origin``)."""
        if self._library is not None:
            child = self._served_children.get((source, origin))
            if child is None:
                child = self._served_children[(source, origin)] = self._library[1].labels(
                    source, origin
                )
            child.inc()
            return
        served = self.per_request.served
        served[(source, origin)] = served.get((source, origin), 0) + 1

    def latency(self, route: str, method: str, status: int) -> Any:
        """The latency series of one route template, method and status (``.observe(s)``)."""
        if self._library is not None:
            return self._library[0].labels(route, method, str(status))
        key = (route, method, str(status))
        series = self.per_request.latency.get(key)
        if series is None:
            series = self.per_request.latency[key] = LatencySeries()
        return series

    def render(self) -> bytes:
        return generate_latest(self.registry)


class LatencyMiddleware:
    """Pure-ASGI middleware timing every HTTP request, labelled by its route *template*.

    Labelling by template (``/users/{user_id}/recommendations``) keeps the label set bounded.
    Written as raw ASGI rather than ``BaseHTTPMiddleware``, which costs far more per request.
    """

    def __init__(self, app: Any, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        start = time.perf_counter()

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.latency(template, scope.get("method", ""), status).observe(
                time.perf_counter() - start
            )
