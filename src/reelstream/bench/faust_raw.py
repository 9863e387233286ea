"""A Faust agent that only counts messages: the raw consume rate ``bench stream`` compares to.

Run as ``python -m reelstream.bench.faust_raw N`` with ``REELSTREAM_*`` settings in the
environment; prints one JSON line ``{"events": N, "seconds": s}`` (timed from the first
message) and exits.
"""

from __future__ import annotations

import json
import os
import sys
import time

import faust

from reelstream.kafka import faust_broker_settings
from reelstream.settings import get_settings

settings = get_settings()
expected = int(sys.argv[1]) if len(sys.argv) > 1 else 0

(settings.state_dir / "faust").mkdir(parents=True, exist_ok=True)  # Faust makes only the leaf
app = faust.App(
    f"{settings.consumer_group}.raw",
    **faust_broker_settings(settings),
    value_serializer="raw",
    key_serializer="raw",
    store="memory://",
    datadir=str(settings.state_dir / "faust" / "{conf.id}"),
    web_enabled=False,
    autodiscover=False,
)
topic = app.topic(settings.ratings_topic, value_type=bytes)


@app.agent(topic)
async def count(stream):
    seen, started = 0, None
    async for values in stream.take(settings.worker_batch_size, within=settings.worker_batch_within_s):
        started = started or time.perf_counter()
        seen += len(values)
        if seen >= expected:
            print(json.dumps({"events": seen, "seconds": time.perf_counter() - started}), flush=True)
            os._exit(0)


if __name__ == "__main__":
    faust.Worker(app, loglevel="warning").execute_from_commandline()
