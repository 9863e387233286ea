"""What a dependency failure says to a client, and what it says to the log.

Responses name the service that failed ("PostgreSQL unreachable"), never the driver's message:
those carry host names, ports, user names and library internals. The full error goes to the
log instead, at most once per ``every_s`` per kind of failure, so an outage at thousands of
requests per second does not flood it.
"""

from __future__ import annotations

import logging
import time

__all__ = ["log_dependency_failure"]

_log = logging.getLogger("reelstream.serving")
_last: dict[str, float] = {}
_suppressed: dict[str, int] = {}


def log_dependency_failure(what: str, exc: BaseException, every_s: float = 10.0) -> None:
    """Log ``exc`` (with its type) under ``what``, unless ``what`` was logged < ``every_s`` ago."""
    now = time.monotonic()
    if now - _last.get(what, float("-inf")) < every_s:
        _suppressed[what] = _suppressed.get(what, 0) + 1
        return
    _last[what] = now
    repeated = _suppressed.pop(what, 0)
    _log.warning(
        "%s: %s: %s%s", what, type(exc).__name__, exc,
        f" ({repeated} more since the last report)" if repeated else "",
    )
