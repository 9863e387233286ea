"""The Faust application, configured from :class:`reelstream.settings.Settings`."""

from __future__ import annotations

import faust

from reelstream.kafka import faust_broker_settings
from reelstream.settings import get_settings
from reelstream.streaming.faust_tuning import tune

__all__ = ["app", "settings"]

settings = get_settings()

(settings.state_dir / "faust").mkdir(parents=True, exist_ok=True)  # Faust makes only the leaf
app = faust.App(
    settings.consumer_group,
    **faust_broker_settings(settings),
    value_serializer="raw",
    key_serializer="raw",
    # Kafka is not the durable record here (PostgreSQL is), and the model lives outside
    # Faust tables: no changelog topics, no local RocksDB.
    store="memory://",
    datadir=str(settings.state_dir / "faust" / "{conf.id}"),  # not the working directory
    web_enabled=False,
    autodiscover=False,
)
tune(
    app,
    fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
    fetch_min_bytes=settings.kafka_fetch_min_bytes,
)
