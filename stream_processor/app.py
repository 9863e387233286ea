"""The Faust application, configured from :class:`reelstream.settings.Settings`."""

from __future__ import annotations

import faust

from reelstream.kafka import faust_broker_settings
from reelstream.settings import get_settings

__all__ = ["app", "settings"]

settings = get_settings()

app = faust.App(
    settings.consumer_group,
    **faust_broker_settings(settings),
    value_serializer="raw",
    key_serializer="raw",
    # Kafka is not the durable record here (PostgreSQL is), and the model lives outside
    # Faust tables: no changelog topics, no local RocksDB.
    store="memory://",
    web_enabled=False,
    autodiscover=False,
)
