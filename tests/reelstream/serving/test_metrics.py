"""The API's /metrics: the per-request series as a plain prometheus_client Histogram and
Counter would show them (the API keeps their labelled children between requests)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from reelstream.serving.metrics import LATENCY_BUCKETS, ApiMetrics

OBSERVED = [0.0, 0.0005, 0.00051, 0.002, 0.0199, 0.02, 3.0, 10.0, 10.5, 99.0]


def _samples(text: str, family: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    for metric in text_string_to_metric_families(text):
        if metric.name == family:
            return {(s.name, tuple(sorted(s.labels.items()))): s.value for s in metric.samples}
    raise AssertionError(f"{family} not exported")


def test_latency_histogram_matches_prometheus_client() -> None:
    metrics = ApiMetrics()
    reference_registry = CollectorRegistry()
    reference = Histogram(
        "reelstream_api_request_duration_seconds", "ref", ["route", "method", "status"],
        buckets=LATENCY_BUCKETS, registry=reference_registry,
    )
    for seconds in OBSERVED:  # bucket bounds themselves included: "le" means <=
        metrics.latency("/r", "GET", 200).observe(seconds)
        reference.labels("/r", "GET", "200").observe(seconds)

    ours = _samples(metrics.render().decode(), "reelstream_api_request_duration_seconds")

    theirs = _samples(
        generate_latest(reference_registry).decode(), "reelstream_api_request_duration_seconds"
    )
    theirs = {k: v for k, v in theirs.items() if not k[0].endswith("_created")}
    assert ours == theirs


def test_served_counts_by_source_and_origin() -> None:
    metrics = ApiMetrics()
    for _ in range(3):
        metrics.count_served("personal", "redis")
    metrics.count_served("popular", "postgres")

    served = _samples(metrics.render().decode(), "reelstream_api_recommendations")
    assert served == {
        ("reelstream_api_recommendations_total", (("origin", "redis"), ("source", "personal"))): 3.0,
        ("reelstream_api_recommendations_total", (("origin", "postgres"), ("source", "popular"))): 1.0,
    }

