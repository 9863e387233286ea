"""The API's health probe: dependencies and worker heartbeats, probed at most once a second.

``/health`` may be polled by several load balancers, Prometheus and people at once. Each probe
touches Kafka, Redis and PostgreSQL, so :class:`HealthMonitor` keeps the last probe for
``health_cache_s`` and lets concurrent requests wait for the one probe in flight instead of
starting their own. The verdict itself is recomputed per request from the cached records
(:func:`reelstream.health.assess`), so heartbeat ages are always current.

The Kafka probe keeps one admin client across probes (a new client bootstraps, fetches
metadata and opens a connection: tens of milliseconds and a connection per request), and a
TCP connect first so a broker that is down answers "down" at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread

from reelstream.health import HealthThresholds, HealthVerdict, assess
from reelstream.settings import Settings
from reelstream.worker_status import WorkerStatus

__all__ = ["BrokerProbe", "HealthMonitor", "Probe"]

log = logging.getLogger(__name__)


class BrokerProbe:
    """``reachable()``: does the first bootstrap server answer a metadata request?"""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._admin: Any = None
        self._lock = threading.Lock()

    def _tcp_ok(self, timeout_s: float) -> bool:
        from reelstream.kafka import bootstrap_servers, broker_port_open

        return broker_port_open(bootstrap_servers(self.settings), timeout_s)

    def reachable(self, timeout_s: float = 2.0) -> bool:
        if not self._tcp_ok(timeout_s):
            self._drop()
            return False
        if not self._lock.acquire(timeout=timeout_s):
            return False  # the previous probe is still waiting for the broker
        try:
            if self._admin is None:
                from reelstream.kafka import make_admin

                timeout_ms = max(int(timeout_s * 1000), 100)
                self._admin = make_admin(
                    self.settings,
                    request_timeout_ms=timeout_ms,
                    bootstrap_timeout_ms=timeout_ms,
                    client_id="reelstream-api-health",
                )
            self._admin.describe_cluster()
            return True
        except Exception as exc:  # noqa: BLE001 - any failure means "down"; details to the log
            log.info("health: Kafka probe failed: %r", exc)
            self._close_admin()
            return False
        finally:
            self._lock.release()

    def _drop(self) -> None:
        if self._lock.acquire(blocking=False):
            try:
                self._close_admin()
            finally:
                self._lock.release()

    def _close_admin(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            try:
                admin.close()
            except Exception:  # noqa: BLE001
                pass

    def close(self) -> None:
        self._drop()


@dataclass(frozen=True, slots=True)
class Probe:
    """One look at the dependencies and the worker records (``None``: Redis unreadable)."""

    services: dict[str, str]
    statuses: list[WorkerStatus] | None
    at: float  # time.monotonic()


class HealthMonitor:
    """Probes through ``checks`` (name -> callable returning bool) and ``read_statuses``.

    ``checks`` run concurrently, each bounded by ``timeout_s``; an exception or a timeout is
    ``down``. Probes are cached for ``ttl_s`` and shared by concurrent callers.
    """

    def __init__(
        self,
        checks: dict[str, Callable[[], bool]],
        read_statuses: Callable[[], list[WorkerStatus]],
        thresholds: HealthThresholds,
        *,
        ttl_s: float = 1.0,
        timeout_s: float = 2.0,
    ) -> None:
        self.checks = checks
        self.read_statuses = read_statuses
        self.thresholds = thresholds
        self.ttl_s = ttl_s
        self.timeout_s = timeout_s
        self.probes = 0  # how many real probes ran (the cache's effect, for tests and metrics)
        self._cached: Probe | None = None
        self._lock: asyncio.Lock | None = None

    def probe_now(self) -> Probe:
        """Run every check and read the worker records (blocking; threads for the checks)."""
        self.probes += 1
        deadline = time.monotonic() + self.timeout_s + 1.0
        pool = ThreadPoolExecutor(max_workers=len(self.checks) + 1, thread_name_prefix="health")
        try:
            futures = {name: pool.submit(check) for name, check in self.checks.items()}
            statuses_future = pool.submit(self.read_statuses)
            services: dict[str, str] = {}
            for name, future in futures.items():
                try:
                    ok = bool(future.result(timeout=max(0.0, deadline - time.monotonic())))
                except Exception:  # noqa: BLE001 - a failing or hanging check is "down"
                    ok = False
                services[name] = "up" if ok else "down"
            try:
                statuses: list[WorkerStatus] | None = statuses_future.result(
                    timeout=max(0.0, deadline - time.monotonic())
                )
            except Exception as exc:  # noqa: BLE001
                log.info("health: cannot read worker statuses: %r", exc)
                statuses = None
            return Probe(services, statuses, time.monotonic())
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _fresh(self, probe: Probe | None) -> bool:
        return probe is not None and time.monotonic() - probe.at < self.ttl_s

    async def probe(self) -> Probe:
        """The cached probe, or a new one shared with every caller waiting meanwhile."""
        if self._fresh(self._cached):
            return self._cached  # type: ignore[return-value]
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if not self._fresh(self._cached):
                self._cached = await anyio.to_thread.run_sync(self.probe_now)
            return self._cached  # type: ignore[return-value]

    async def verdict(self, now: datetime | None = None) -> HealthVerdict:
        probe = await self.probe()
        return assess(probe.services, probe.statuses, now or datetime.now(UTC), self.thresholds)
