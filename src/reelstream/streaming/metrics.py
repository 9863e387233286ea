"""Prometheus metrics of the streaming worker."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "EVENTS",
    "DEAD_LETTERS",
    "BATCH_SECONDS",
    "TOPN_SECONDS",
    "LISTS_WRITTEN",
    "LISTS_WAITING",
    "MODEL_EVENTS",
    "CONSUMER_LAG",
    "NEWEST_LEARNED_AGE",
    "HEARTBEAT",
    "DEGRADED",
    "PROCESSOR_RESTARTS",
    "LIVE_METRIC",
    "LIVE_DRIFTS",
    "LIVE_DRIFT",
    "LIVE_SECONDS",
]

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
    "Time to compute one user's top-N with its reasons",
    buckets=(25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 5e-3),
)
LISTS_WRITTEN = Counter(
    "reelstream_worker_lists_written_total",
    "Users' top-N lists written to Redis (under a backlog, one per user for several batches)",
)
LISTS_WAITING = Gauge(
    "reelstream_worker_lists_waiting",
    "Users whose list waits to be written (at most REELSTREAM_LIST_MAX_DELAY_S)",
)
MODEL_EVENTS = Gauge("reelstream_worker_model_events_learned", "Events the online model learned")
CONSUMER_LAG = Gauge(
    "reelstream_worker_consumer_lag",
    "Messages of the ratings topic not yet processed (end offset minus committed offset)",
    ["partition"],
)
NEWEST_LEARNED_AGE = Gauge(
    "reelstream_worker_newest_learned_event_age_seconds",
    "Now minus the event time of the newest event the model learned",
)
HEARTBEAT = Gauge(
    "reelstream_worker_heartbeat_timestamp_seconds", "When the worker last reported its status"
)
DEGRADED = Gauge(
    "reelstream_worker_degraded", "1 while the worker waits out an outage (reason in its status)"
)
PROCESSOR_RESTARTS = Gauge(
    "reelstream_worker_processor_restarts", "Times the worker restarted its processor process"
)
LIVE_METRIC = Gauge(
    "reelstream_worker_live_metric",
    "Test-then-learn figure over the last REELSTREAM_LIVE_WINDOW events (rating or list scored "
    "before the model learned the event)",
    ["role", "metric"],  # role: champion | challenger; metric: rmse | mae | hr_at_10 | ndcg_at_10
)
LIVE_DRIFTS = Gauge(
    "reelstream_worker_live_drifts", "Changes ADWIN detected in the live absolute error", ["role"]
)
LIVE_DRIFT = Gauge(
    "reelstream_worker_live_drift",
    "1 while a drift of the serving model's live error is recent (REELSTREAM_LIVE_DRIFT_HOLD_S)",
)
LIVE_SECONDS = Gauge(
    "reelstream_worker_live_eval_seconds",
    "Processor time spent on live evaluation (challenger: its learning and lists too)",
    ["role"],
)
