"""Waiting out outages: which errors mean "a service is away", the retry policy, and the
worker's own view of its health (ok, or degraded with the reason).

An outage is never turned into a failed batch: the call is retried with capped exponential
backoff for as long as it takes, and meanwhile the worker says it is degraded and why (its
heartbeat carries the reason). Every other exception is a fault of the data and is isolated
to the message that caused it (see :mod:`reelstream.streaming.processor_child`).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
import redis.exceptions
from tenacity import RetryCallState, retry, retry_if_exception_type, wait_exponential

from reelstream.errors import describe

__all__ = [
    "OUTAGES",
    "MAX_BACKOFF_S",
    "Health",
    "HEALTH",
    "is_outage",
    "waits_out",
    "describe",
]

log = logging.getLogger(__name__)

#: Errors that mean a service (PostgreSQL, Redis, a socket) is unreachable, not that the data
#: is bad. redis-py's and psycopg's connection errors are not ``OSError`` subclasses.
OUTAGES: tuple[type[BaseException], ...] = (
    OSError,  # includes the built-in ConnectionError and TimeoutError
    redis.exceptions.ConnectionError,  # includes BusyLoadingError (Redis restarting)
    redis.exceptions.TimeoutError,
    psycopg.OperationalError,  # server gone, connection refused, admin shutdown
    psycopg.InterfaceError,  # the connection object is closed or broken
)
MAX_BACKOFF_S = 5.0  # an outage ends at most this long before the worker notices

F = TypeVar("F", bound=Callable[..., Any])


def is_outage(exc: BaseException) -> bool:
    return isinstance(exc, OUTAGES)


class Health:
    """Which components are currently failing, and why (thread-safe: the processor stores
    on one thread, learns on another, and the heartbeat reads from a third)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._problems: dict[str, tuple[str, float]] = {}

    def degraded(self, component: str, reason: str) -> None:
        with self._lock:
            first = component not in self._problems
            since = self._problems.get(component, (reason, time.time()))[1]
            self._problems[component] = (reason, since)
        if first:
            log.warning("%s unavailable, waiting it out: %s", component, reason)

    def recovered(self, component: str) -> None:
        if component not in self._problems:  # the happy path: one dict lookup, no lock
            return
        with self._lock:
            reason, since = self._problems.pop(component, ("", time.time()))
        log.warning("%s is back after %.1f s (%s)", component, time.time() - since, reason)

    @property
    def state(self) -> str:
        return "degraded" if self._problems else "ok"

    @property
    def reason(self) -> str | None:
        with self._lock:
            problems = dict(self._problems)
        if not problems:
            return None
        return "; ".join(f"{name}: {reason}" for name, (reason, _) in sorted(problems.items()))


#: This process's health (each worker process has its own).
HEALTH = Health()


def waits_out(component: str, health: Health = HEALTH) -> Callable[[F], F]:
    """Retry the decorated call on :data:`OUTAGES`, forever, with capped exponential backoff,
    reporting ``component`` degraded meanwhile; other exceptions propagate at once."""

    def note(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        health.degraded(component, describe(exc) if exc else "unavailable")

    def decorate(fn: F) -> F:
        retrying = retry(
            retry=retry_if_exception_type(OUTAGES),
            wait=wait_exponential(multiplier=0.2, max=MAX_BACKOFF_S),
            before_sleep=note,
            reraise=True,
        )(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = retrying(*args, **kwargs)
            health.recovered(component)
            return result

        return wrapper  # type: ignore[return-value]

    return decorate
