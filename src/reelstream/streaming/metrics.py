"""Prometheus metrics of the streaming worker."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = ["EVENTS", "DEAD_LETTERS", "BATCH_SECONDS", "TOPN_SECONDS", "MODEL_EVENTS"]

EVENTS = Counter(
    "reelstream_worker_events_total", "Rating events seen by the worker", ["outcome"]
)  # outcome: stored | duplicate
DEAD_LETTERS = Counter(
    "reelstream_worker_dead_letters_total", "Messages sent to the dead-letter topic", ["stage"]
)
BATCH_SECONDS = Histogram(
    "reelstream_worker_batch_seconds",
    "Time to store, learn and refresh recommendations for one batch",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
TOPN_SECONDS = Histogram(
    "reelstream_worker_topn_seconds",
    "Time to compute one user's top-N",
    buckets=(25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 5e-3),
)
MODEL_EVENTS = Gauge("reelstream_worker_model_events_learned", "Events the online model learned")
