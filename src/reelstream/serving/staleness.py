"""The ``stale`` flag of a served list: computed longer ago than a maximum age.

Like a feature store's max age: a list is rewritten whenever its user rates, so an old list
means a user who has not rated since (and a model retrained since), not an error; the flag
lets a client tell. ``REELSTREAM_STALE_AFTER_S`` sets the age.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

__all__ = ["Staleness"]

_UPDATED_AT = b'"updated_at":"'
_STALE_FALSE = b'"stale":false'
_THEN_FRESH = b',"stale":false'
_THEN_STALE = b',"stale":true'
_UTC_SUFFIXES = (b"+00:00", b"Z")


class Staleness:
    """``of(updated_at)`` for a list being rendered; ``flag_page(page)`` for a stored page."""

    def __init__(self, stale_after_s: float) -> None:
        self.stale_after_s = stale_after_s
        self._before_text = b""
        self._before_at = float("-inf")

    def of(self, updated_at: str | None) -> bool:
        """True when a list computed at ``updated_at`` (ISO 8601) is older than the maximum
        age; a list without a time is not called stale."""
        if not updated_at:
            return False
        try:
            computed = datetime.fromisoformat(updated_at)
        except ValueError:
            return False
        if computed.tzinfo is None:
            computed = computed.replace(tzinfo=UTC)
        return (datetime.now(UTC) - computed).total_seconds() > self.stale_after_s

    def flag_page(self, page: bytes) -> bytes | None:
        """The stored page with ``"stale"`` set from its own ``updated_at``, without parsing
        it; None for a page without the flag (written by an older renderer): the caller then
        renders the list instead.

        A page is rendered with ``"stale":false`` right after ``updated_at``; both precede
        ``items``, and inside a JSON string every quote is escaped, so the first match of
        ``"updated_at":"`` is the top-level key.
        """
        at = page.find(_UPDATED_AT)
        if at < 0:  # "updated_at":null
            return page if _STALE_FALSE in page else None
        start = at + len(_UPDATED_AT)
        end = page.index(b'"', start) + 1
        if not page.startswith(_THEN_FRESH, end):
            return None
        stamp = page[start : end - 1]
        if stamp.endswith(_UTC_SUFFIXES):  # as the writers store it: compare as text
            stale = stamp[:19] < self._stale_before()
        else:
            stale = self.of(stamp.decode())
        return page[:end] + _THEN_STALE + page[end + len(_THEN_FRESH) :] if stale else page

    def _stale_before(self) -> bytes:
        """``YYYY-MM-DDTHH:MM:SS`` (UTC) of the maximum age ago, recomputed once a second:
        a UTC time in ISO 8601 compares as text, which costs less than parsing it."""
        now = time.monotonic()
        if now - self._before_at >= 1.0:
            limit = datetime.now(UTC) - timedelta(seconds=self.stale_after_s)
            self._before_text = limit.strftime("%Y-%m-%dT%H:%M:%S").encode()
            self._before_at = now
        return self._before_text
