"""A Faust agent that only counts messages: the raw consume rate ``bench stream`` compares to.

Run as ``python -m benchmarks.faust_raw N [faust|worker]`` with ``REELSTREAM_*``
settings in the environment; prints one JSON line ``{"events": N, "seconds": s}`` (timed from
the first message) and exits. ``faust`` (default) keeps Faust's consumer as it ships (fetch
wait 1500 ms); ``worker`` gives it the worker's adjustments (:func:`reelstream.streaming.faust_tuning.tune`:
the fetch wait narrowed to ``REELSTREAM_KAFKA_FETCH_MAX_WAIT_MS``, messages handed to the
stream directly, no per-message monitor statistics, the producer buffer counted directly).
"""

from __future__ import annotations

import json
import os
import sys
import time

import faust

from reelstream.kafka import faust_broker_settings
from reelstream.settings import get_settings
from reelstream.streaming.faust_tuning import tune

__all__ = ["build_app"]


def build_app(expected: int, consumer: str = "faust") -> faust.App:
    """The counting app, as Faust ships it or with the worker's adjustments."""
    settings = get_settings()
    (settings.state_dir / "faust").mkdir(parents=True, exist_ok=True)  # Faust makes only the leaf
    app = faust.App(
        f"{settings.consumer_group}.raw.{consumer}",  # a group of its own: reads from the start
        **faust_broker_settings(settings),
        value_serializer="raw",
        key_serializer="raw",
        store="memory://",
        datadir=str(settings.state_dir / "faust" / "{conf.id}"),
        web_enabled=False,
        autodiscover=False,
    )
    if consumer == "worker":
        tune(app, fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
             fetch_min_bytes=settings.kafka_fetch_min_bytes)
    topic = app.topic(settings.ratings_topic, value_type=bytes)
    batch, within = settings.worker_batch_size, settings.worker_batch_within_s

    @app.agent(topic, name="count")
    async def count(stream):
        seen, started = 0, None
        async for values in stream.take(batch, within=within):
            started = started or time.perf_counter()
            seen += len(values)
            if seen >= expected:
                seconds = time.perf_counter() - started
                print(json.dumps({"events": seen, "seconds": seconds}), flush=True)
                os._exit(0)

    return app


if __name__ == "__main__":
    raw_app = build_app(
        int(sys.argv[1]) if len(sys.argv) > 1 else 0, sys.argv[2] if len(sys.argv) > 2 else "faust"
    )
    faust.Worker(raw_app, loglevel="warning").execute_from_commandline()
