"""Which just-rated movies get their similar-movie list rewritten, within a budget.

The lists are a by-product of learning, so they must not take the hot path's time: at most
``per_batch`` per batch and ``per_s`` per second (a token bucket, full at start), each movie
at most once every ``every_s``, the most recently rated first.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

__all__ = ["SimilarSchedule"]


class SimilarSchedule:
    """The token bucket and per-movie spacing of similar-list refreshes."""

    def __init__(self, per_batch: int, per_s: float, every_s: float) -> None:
        self.per_batch = per_batch
        self.per_s = per_s
        self.every_s = every_s
        self._refreshed_at: dict[int, float] = {}
        self._tokens = float(per_batch)
        self._tokens_at = time.monotonic()

    def due(self, newest_first: Iterable[int], now: float | None = None) -> list[int]:
        """The movies to refresh now (taken from the budget), newest first, each once."""
        now = time.monotonic() if now is None else now
        self._tokens = min(
            float(self.per_batch), self._tokens + (now - self._tokens_at) * self.per_s
        )
        self._tokens_at = now
        limit = int(self._tokens)
        due: list[int] = []
        for movie_id in dict.fromkeys(newest_first) if limit else ():
            if now - self._refreshed_at.get(movie_id, -1e18) >= self.every_s:
                due.append(movie_id)
                if len(due) == limit:
                    break
        self._tokens -= len(due)
        self._refreshed_at.update(dict.fromkeys(due, now))
        return due
