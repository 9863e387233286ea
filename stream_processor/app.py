"""The Faust application, configured from :class:`reelstream.settings.Settings`."""

from __future__ import annotations

import faust
from faust.tables import TableManager

from reelstream.kafka import faust_broker_settings, use_fetch_max_wait
from reelstream.streaming.faust_consumer import use_direct_delivery
from reelstream.streaming.faust_monitor import BatchMonitor
from reelstream.streaming.faust_producer import use_unthreaded_producer_buffer
from reelstream.settings import get_settings

__all__ = ["app", "settings"]

settings = get_settings()
use_fetch_max_wait(settings.kafka_fetch_max_wait_ms)


class TablelessTableManager(TableManager):
    """Faust's table manager waits 1 s at start for tables to register; this app keeps no
    Faust tables (the model lives in the processor), so it goes straight to recovery."""

    async def on_start(self) -> None:
        if len(self):  # someone registered a table after all: keep Faust's behaviour
            await super().on_start()
            return
        await self._update_channels()
        await self.recovery.start()


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
    TableManager=TablelessTableManager,
    Monitor=BatchMonitor,  # no per-message statistics: nothing reads them here
)
use_direct_delivery(app)  # no four tasks per message: see reelstream.streaming.faust_consumer
use_unthreaded_producer_buffer(app)  # see reelstream.streaming.faust_producer
