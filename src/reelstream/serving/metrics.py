"""Prometheus metrics of the HTTP API (prometheus_client's own types), in a registry of
their own.

Each app gets its own :class:`prometheus_client.CollectorRegistry`, so several apps (tests,
benchmarks) can live in one process without "duplicated timeseries" errors. The per-request
series keep their labelled children, so a request pays one ``observe`` or ``inc`` and no label
lookup.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["ApiMetrics", "CONTENT_TYPE_LATEST", "LATENCY_BUCKETS"]

#: Latency buckets centred on the 20 ms p99 target of the recommendations endpoint.
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)


class ApiMetrics:
    """The counters and histograms the API exports on ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.request_duration = Histogram(
            "reelstream_api_request_duration_seconds",
            "HTTP request latency by route template, method and status code.",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.recommendations = Counter(
            "reelstream_api_recommendations",
            "Recommendation responses by source: personal = Redis cache hit; "
            "popular = fallback (no cache entry for the user, or Redis unreachable).",
            ["source", "origin"],
            registry=self.registry,
        )
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
        self._served: dict[tuple[str, str], Any] = {}
        self._latency: dict[tuple[str, str, int], Any] = {}

    def count_served(self, source: str, origin: str) -> None:
        """One more recommendations response from ``source`` (read at ``origin``)."""
        child = self._served.get((source, origin))
        if child is None:
            child = self._served[(source, origin)] = self.recommendations.labels(source, origin)
        child.inc()

    def latency(self, route: str, method: str, status: int) -> Any:
        """The latency series of one route template, method and status (``.observe(s)``)."""
        key = (route, method, status)
        series = self._latency.get(key)
        if series is None:
            series = self._latency[key] = self.request_duration.labels(route, method, str(status))
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
