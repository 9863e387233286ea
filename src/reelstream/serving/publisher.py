"""Publish rating events to Kafka and report them accepted only once the broker acknowledged.

The producer is aiokafka's (``acks="all"``), on the API's own event loop: a POST waits for
the broker's acknowledgement without a thread hop (a blocking producer in worker threads
queues every hand-off between the event loop, the worker thread and the client's sender
thread for the GIL; ``docs/performance.md``, bench freshness). aiokafka's idempotent producer
fails on the embedded broker, so the producer is not idempotent; duplicates a retry could
cause are harmless, below.

Contract: :meth:`RatingPublisher.publish` returns only when every event was
acknowledged; otherwise it raises :class:`BrokerUnavailable` naming the events that were and
were not confirmed. "Not confirmed" is not "lost for sure": a record that timed out may still
reach the broker later. Clients therefore retry with the *same* ``event_id`` and the worker
treats duplicates as no-ops.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from reelstream.errors import describe
from reelstream.kafka import bootstrap_servers, broker_port_open_async
from reelstream.schemas import RatingEvent
from reelstream.serving.incidents import log_dependency_failure
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


class PublishResult(list[UUID]):
    """The event ids the broker acknowledged, in request order."""


def _default_factory(settings: Settings, timeout_s: float) -> Callable[[], Any]:
    """aiokafka producer (``acks="all"``) tuned for request/response use: records wait at most
    ``api_producer_linger_ms`` because a client is waiting, and requests give up after
    ``timeout_s``."""
    timeout_ms = int(timeout_s * 1000)

    def factory() -> Any:
        from aiokafka import AIOKafkaProducer

        return AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers(settings),
            client_id="reelstream-api",
            acks="all",
            linger_ms=settings.api_producer_linger_ms,
            request_timeout_ms=timeout_ms,
            retry_backoff_ms=100,
        )

    return factory


class RatingPublisher:
    """Publishes :class:`RatingEvent` to ``settings.ratings_topic`` from the API's event loop.

    The producer is started lazily on the first publish (or by :meth:`warm_up`), so the API
    starts (and ``/health`` says so) while the broker is down. After a failed connection
    attempt, publishes within ``retry_after_s`` fail fast with the same reason instead of each
    waiting for a timeout.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        timeout_s: float | None = None,
        retry_after_s: float = 2.0,
        producer_factory: Callable[[], Any] | None = None,
    ) -> None:
        self.topic = settings.ratings_topic
        self.timeout_s = (
            timeout_s if timeout_s is not None else min(settings.kafka_request_timeout_ms / 1000, 5.0)
        )
        self.retry_after_s = retry_after_s
        self._factory = producer_factory or _default_factory(settings, self.timeout_s)
        self._producer: Any = None
        self._starting: asyncio.Lock | None = None
        self._failed_at = 0.0
        self._failure = ""
        self._bootstrap = bootstrap_servers(settings)

    # -- producer lifecycle ----------------------------------------------------------------
    async def _get_producer(self) -> Any:
        if self._producer is not None:
            return self._producer
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._producer is not None:
                return self._producer
            if self._failure and time.monotonic() - self._failed_at < self.retry_after_s:
                raise BrokerUnavailable("Kafka broker unreachable")
            producer = None
            try:
                await self._check_port()
                producer = self._factory()
                await asyncio.wait_for(producer.start(), self.timeout_s)
            except Exception as exc:  # KafkaConnectionError, TimeoutError, OSError, ...
                if producer is not None:
                    await _stop_quietly(producer)
                self._failed_at = time.monotonic()
                self._failure = describe(exc)
                log_dependency_failure("Kafka broker unreachable", exc)
                raise BrokerUnavailable("Kafka broker unreachable") from exc
            self._failure = ""
            self._producer = producer
            return producer

    async def warm_up(self) -> None:
        """Connect now (bootstrap + metadata), so the first POST does not pay for it.
        Failures are left for the first publish to report."""
        try:
            await self._get_producer()
        except BrokerUnavailable:
            pass

    async def _check_port(self) -> None:
        """Fail in milliseconds, not after the client's bootstrap timeout, on a closed port."""
        if not await broker_port_open_async(self._bootstrap, timeout_s=1.0):
            raise ConnectionRefusedError("no bootstrap server accepts connections")

    async def aclose(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await _stop_quietly(producer)

    # -- publishing --------------------------------------------------------------------------
    async def publish(self, events: Sequence[RatingEvent]) -> PublishResult:
        """Send ``events`` keyed by user id; return once all are acknowledged.

        Raises :class:`BrokerUnavailable` if the broker cannot be reached or does not
        acknowledge every event within ``timeout_s``.
        """
        try:
            producer = await self._get_producer()
        except BrokerUnavailable as exc:
            raise BrokerUnavailable(exc.reason, [], [e.event_id for e in events]) from exc
        deadline = time.monotonic() + self.timeout_s
        futures: list[tuple[UUID, asyncio.Future[Any]]] = []
        try:
            for event in events:
                # send() returns once the record is queued (it may wait for metadata)
                queued = producer.send(self.topic, key=event.key, value=event.to_bytes())
                futures.append((event.event_id, await asyncio.wait_for(queued, self._left(deadline))))
        except Exception as exc:  # metadata unavailable, buffer full, timeout, ...
            sent = {eid for eid, _ in futures}
            reason = "Kafka broker did not accept the events"
            log_dependency_failure(reason, exc)
            accepted, unconfirmed = await self._wait(futures, deadline)
            raise BrokerUnavailable(
                reason, accepted, unconfirmed + [e.event_id for e in events if e.event_id not in sent]
            ) from exc
        accepted, unconfirmed = await self._wait(futures, deadline)
        if unconfirmed:
            raise BrokerUnavailable(
                f"Kafka broker did not acknowledge {len(unconfirmed)} of {len(futures)} "
                f"event(s) within {self.timeout_s:g} s",
                accepted,
                unconfirmed,
            )
        return PublishResult(accepted)

    @staticmethod
    def _left(deadline: float) -> float:
        return max(0.0, deadline - time.monotonic())

    @classmethod
    async def _wait(
        cls, futures: list[tuple[UUID, asyncio.Future[Any]]], deadline: float
    ) -> tuple[list[UUID], list[UUID]]:
        if futures:
            await asyncio.wait([f for _, f in futures], timeout=cls._left(deadline))
        accepted: list[UUID] = []
        unconfirmed: list[UUID] = []
        for event_id, future in futures:
            if future.done() and not future.cancelled() and future.exception() is None:
                accepted.append(event_id)
            else:
                unconfirmed.append(event_id)
        return accepted, unconfirmed


async def _stop_quietly(producer: Any) -> None:
    try:
        await asyncio.wait_for(producer.stop(), 5.0)
    except Exception:  # stopping a producer of a dead broker must not crash shutdown
        pass
