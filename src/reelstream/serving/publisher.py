"""Publish rating events to Kafka and report them accepted only once the broker acknowledged.

The producer is kafka-python's (``reelstream.kafka.make_producer``: ``acks="all"``), whose
``send`` may block on metadata and whose futures are waited on with a timeout; so
:meth:`RatingPublisher.publish` is *blocking* and the API runs it in a worker thread.

Contract (GUIDE property 7): :meth:`publish` returns only when every event was acknowledged;
otherwise it raises :class:`BrokerUnavailable` naming the events that were and were not
confirmed. "Not confirmed" is not "lost for sure": a record that timed out may still reach the
broker later. Clients therefore retry with the *same* ``event_id`` and the worker treats
duplicates as no-ops (property 3).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import anyio
import anyio.to_thread

from reelstream.schemas import RatingEvent
from reelstream.settings import Settings

__all__ = ["BrokerUnavailable", "PublishResult", "RatingPublisher"]


class BrokerUnavailable(Exception):
    """The broker did not acknowledge (all of) the events."""

    def __init__(
        self,
        reason: str,
        accepted: Sequence[UUID] = (),
        unconfirmed: Sequence[UUID] = (),
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.accepted = list(accepted)
        self.unconfirmed = list(unconfirmed)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    name = type(exc).__name__
    return text if text.startswith(name) else f"{name}: {text}".rstrip(": ")


class PublishResult(list[UUID]):
    """The event ids the broker acknowledged, in request order."""


def _default_factory(settings: Settings, timeout_s: float) -> Callable[[], Any]:
    """kafka-python producer (``acks="all"``, idempotent) tuned for request/response use.

    The producer gives up on a record after ``timeout_s`` (delivery timeout), i.e. as soon as
    we answer 503, so an "unconfirmed" record is not silently delivered much later; records
    are sent at once (no linger) because a client is waiting.
    """
    timeout_ms = int(timeout_s * 1000)

    def factory() -> Any:
        from reelstream.kafka import make_producer

        return make_producer(
            settings,
            client_id="reelstream-api",
            linger_ms=0,
            request_timeout_ms=timeout_ms,
            delivery_timeout_ms=timeout_ms,
            max_block_ms=timeout_ms,
            bootstrap_timeout_ms=min(timeout_ms, 3000),
        )

    return factory


class RatingPublisher:
    """Thread-safe publisher of :class:`RatingEvent` to ``settings.ratings_topic``.

    The producer is created lazily on the first publish, so the API starts (and ``/health``
    says so) while the broker is down. After a failed connection attempt, publishes within
    ``retry_after_s`` fail fast with the same reason instead of each waiting for a timeout.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        timeout_s: float | None = None,
        retry_after_s: float = 2.0,
        max_concurrency: int = 16,
        producer_factory: Callable[[], Any] | None = None,
    ) -> None:
        self.topic = settings.ratings_topic
        self.timeout_s = (
            timeout_s if timeout_s is not None else min(settings.kafka_request_timeout_ms / 1000, 5.0)
        )
        self.retry_after_s = retry_after_s
        self._factory = producer_factory or _default_factory(settings, self.timeout_s)
        self._producer: Any = None
        self.max_concurrency = max_concurrency
        self._limiter: Any = None
        self._lock = threading.Lock()
        self._failed_at = 0.0
        self._failure = ""
        self._bootstrap = [
            s.strip() for s in settings.kafka_bootstrap_servers.split(",") if s.strip()
        ]

    # -- producer lifecycle ----------------------------------------------------------------
    def _get_producer(self) -> Any:
        if self._producer is not None:
            return self._producer
        with self._lock:
            if self._producer is not None:
                return self._producer
            if self._failure and time.monotonic() - self._failed_at < self.retry_after_s:
                raise BrokerUnavailable(f"Kafka broker unreachable: {self._failure}")
            try:
                self._check_port()
                self._producer = self._factory()
            except Exception as exc:  # NoBrokersAvailable, KafkaTimeoutError, OSError, ...
                self._failed_at = time.monotonic()
                self._failure = _describe(exc)
                raise BrokerUnavailable(f"Kafka broker unreachable: {self._failure}") from exc
            self._failure = ""
            return self._producer

    def warm_up(self) -> None:
        """Connect in a background thread (bootstrap + producer id take ~2 s on tansu), so the
        first POST does not pay for it. Failures are left for the first publish to report."""

        def connect() -> None:
            try:
                self._get_producer()
            except BrokerUnavailable:
                pass

        threading.Thread(target=connect, name="publisher-warm-up", daemon=True).start()

    def _check_port(self) -> None:
        """Fail in milliseconds, not after the client's bootstrap timeout, on a closed port."""
        host, _, port = self._bootstrap[0].rpartition(":")
        socket.create_connection((host.strip("[]"), int(port)), timeout=1.0).close()

    def close(self, timeout_s: float = 5.0) -> None:
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=timeout_s)
            except Exception:  # closing a producer of a dead broker must not crash shutdown
                pass

    # -- publishing --------------------------------------------------------------------------
    async def publish_async(self, events: Sequence[RatingEvent]) -> PublishResult:
        """:meth:`publish` in a worker thread of its own limiter, never blocking the event loop.

        The limiter is separate from the one running sync routes, so a slow broker cannot
        starve the read endpoints of threads.
        """
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.max_concurrency)
        return await anyio.to_thread.run_sync(self.publish, list(events), limiter=self._limiter)

    def publish(self, events: Sequence[RatingEvent]) -> PublishResult:
        """Send ``events`` keyed by user id; block until all are acknowledged.

        Raises :class:`BrokerUnavailable` if the broker cannot be reached or does not
        acknowledge every event within ``timeout_s``.
        """
        try:
            producer = self._get_producer()
        except BrokerUnavailable as exc:
            raise BrokerUnavailable(exc.reason, [], [e.event_id for e in events]) from exc
        # A little past the producer's own delivery timeout, so that it decides the outcome.
        deadline = time.monotonic() + self.timeout_s + 0.5
        futures: list[tuple[UUID, Any]] = []
        try:
            for event in events:
                futures.append(
                    (event.event_id, producer.send(self.topic, key=event.key, value=event.to_bytes()))
                )
        except Exception as exc:  # metadata unavailable (KafkaTimeoutError), buffer full, ...
            sent = {eid for eid, _ in futures}
            reason = f"Kafka broker did not accept the events: {_describe(exc)}"
            accepted, unconfirmed = self._wait(futures, deadline)
            raise BrokerUnavailable(
                reason, accepted, unconfirmed + [e.event_id for e in events if e.event_id not in sent]
            ) from exc
        accepted, unconfirmed = self._wait(futures, deadline)
        if unconfirmed:
            raise BrokerUnavailable(
                f"Kafka broker did not acknowledge {len(unconfirmed)} of {len(futures)} "
                f"event(s) within {self.timeout_s:g} s",
                accepted,
                unconfirmed,
            )
        return PublishResult(accepted)

    @staticmethod
    def _wait(futures: list[tuple[UUID, Any]], deadline: float) -> tuple[list[UUID], list[UUID]]:
        accepted: list[UUID] = []
        unconfirmed: list[UUID] = []
        for event_id, future in futures:
            try:
                future.get(timeout=max(0.0, deadline - time.monotonic()))
            except Exception:
                unconfirmed.append(event_id)
            else:
                accepted.append(event_id)
        return accepted, unconfirmed
