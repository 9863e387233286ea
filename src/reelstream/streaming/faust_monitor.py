"""A Faust monitor without per-message statistics.

Faust's default :class:`~faust.sensors.Monitor` updates counters and timestamps four times
per message (message in, stream event in and out, message out) for its web views and
StatsD/Datadog exporters. This worker has neither: its metrics are Prometheus counters kept
per batch by the processor. Those four hooks were ~10% of the Faust process's time at full
load; the rest of the monitor (commits, sends, rebalances: per batch, not per message) stays.
"""

from __future__ import annotations

from typing import Any

from faust.sensors import Monitor

__all__ = ["BatchMonitor"]


class BatchMonitor(Monitor):
    """Faust's monitor with the per-message hooks switched off (see module)."""

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        return None

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> None:
        return None

    def on_stream_event_out(
        self, tp: Any, offset: int, stream: Any, event: Any, state: Any = None
    ) -> None:
        return None

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        return None
