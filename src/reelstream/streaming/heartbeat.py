"""The worker's heartbeat: its :class:`~reelstream.worker_status.WorkerStatus` in Redis about
every second, the same figures as Prometheus gauges, and its recent dead letters.

It runs in the processor process, on a thread of its own: that process knows the model, what
was learned and whether an outage is being waited out (the learning loop may be blocked in a
retry, the thread is not). The Faust process knows the consumer lag and sends it over with a
status frame every second (:meth:`Heartbeat.from_worker`). A Redis outage only skips beats
(logged once, and when Redis is back).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import redis

from reelstream.settings import Settings
from reelstream.streaming.messages import DeadLetter
from reelstream.streaming.metrics import (
    CONSUMER_LAG,
    DEGRADED,
    HEARTBEAT,
    LIVE_DRIFT,
    NEWEST_LEARNED_AGE,
    PROCESSOR_RESTARTS,
)
from reelstream.streaming.resilience import HEALTH, Health, describe
from reelstream.worker_status import (
    DeadLetterNote,
    WorkerStatus,
    publish_status,
    record_dead_letters,
)

if TYPE_CHECKING:
    from reelstream.streaming.processor import BatchProcessor

__all__ = ["Heartbeat", "start_metrics_server"]

log = logging.getLogger(__name__)


def start_metrics_server(settings: Settings) -> str | None:
    """Serve ``/metrics`` on the configured port; the URL, or None when off or taken."""
    port = settings.worker_metrics_port
    if not port:
        return None
    from prometheus_client import start_http_server

    host = settings.worker_metrics_host
    try:
        start_http_server(port, addr=host)
    except OSError as exc:
        log.warning("worker metrics not served: %s:%d: %s", host, port, exc)
        return None
    reachable_as = socket.gethostname() if host in ("0.0.0.0", "::", "") else host
    return f"http://{reachable_as}:{port}/metrics"


class Heartbeat:
    """Publishes this worker's status every ``settings.worker_heartbeat_s`` seconds."""

    def __init__(self, settings: Settings, metrics_url: str | None, health: Health = HEALTH) -> None:
        self.settings = settings
        self.metrics_url = metrics_url
        self.health = health
        self.processor: BatchProcessor | None = None  # set once recovery is done
        self._client = redis.Redis.from_url(
            settings.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0
        )
        self._worker: dict[str, Any] = {}  # the Faust process's last status frame
        self._notes: deque[DeadLetterNote] = deque(maxlen=500)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._failing = False

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._client.close()

    def from_worker(self, status: dict[str, Any]) -> None:
        """The Faust process's part: ``lag`` by partition, ``reason`` (e.g. the broker is
        away) and ``restarts`` of the processor process."""
        self._worker = status
        lag = status.get("lag") or {}
        for labels in list(CONSUMER_LAG._metrics):  # partitions no longer assigned
            if int(labels[0]) not in lag:
                CONSUMER_LAG.remove(*labels)
        for partition, behind in lag.items():
            CONSUMER_LAG.labels(str(partition)).set(behind)
        PROCESSOR_RESTARTS.set(status.get("restarts", 0))

    def note_dead_letters(self, letters: Iterable[DeadLetter]) -> None:
        now = datetime.now(UTC)
        for letter in letters:
            m = letter.message
            preview = (m.value or b"")[:200].decode("utf-8", "replace")
            self._notes.append(
                DeadLetterNote(now, letter.error, letter.stage, m.topic, m.partition, m.offset, preview)
            )

    def status(self) -> WorkerStatus:
        worker, processor = self._worker, self.processor
        reasons = [r for r in (self.health.reason, worker.get("reason")) if r]
        if processor is None:
            state = "starting"
        else:
            state = "degraded" if reasons else "ok"
        totals = processor.totals if processor is not None else {}
        live = getattr(processor, "live", None)
        return WorkerStatus(
            worker_id=self.settings.worker_id,
            state=state,  # type: ignore[arg-type]
            heartbeat_at=datetime.now(UTC),
            model_version=processor.model.version if processor is not None else "",
            reason="; ".join(reasons) or None,
            lag={int(p): int(n) for p, n in (worker.get("lag") or {}).items()},
            newest_learned_event_at=processor.newest_learned_at if processor is not None else None,
            events_stored=totals.get("stored", 0),
            events_learned=processor.model.events_learned if processor is not None else 0,
            duplicates=totals.get("duplicates", 0),
            dead_letters=totals.get("dead_letters", 0),
            metrics_url=self.metrics_url,
            live=live.snapshot(processor.model.version) if live is not None else {},
            drift=live.drift(self.settings.live_drift_hold_s) if live is not None else None,
        )

    def beat(self) -> WorkerStatus:
        """Publish once (also what the thread does every interval)."""
        status = self.status()
        HEARTBEAT.set(status.heartbeat_at.timestamp())
        DEGRADED.set(status.state == "degraded")
        LIVE_DRIFT.set(status.drift is not None)
        live = getattr(self.processor, "live", None)
        if live is not None:
            live.export()
        if status.newest_learned_event_at is not None:
            NEWEST_LEARNED_AGE.set(time.time() - status.newest_learned_event_at.timestamp())
        notes = [self._notes.popleft() for _ in range(len(self._notes))]
        try:
            publish_status(self._client, self.settings.redis_prefix, status)
            if notes:
                record_dead_letters(self._client, self.settings.redis_prefix, notes)  # newest ends first
        except redis.RedisError as exc:
            self._notes.extendleft(reversed(notes))  # kept (bounded) for the next beat
            if not self._failing:
                log.warning("heartbeat not published (Redis): %s; retrying every beat", describe(exc))
                self._failing = True
        else:
            if self._failing:
                log.info("heartbeat published again")
                self._failing = False
        return status

    def _run(self) -> None:
        while not self._stop.wait(self.settings.worker_heartbeat_s):
            try:
                self.beat()
            except Exception:  # noqa: BLE001 - the heartbeat must outlive anything it meets
                log.exception("heartbeat failed")
