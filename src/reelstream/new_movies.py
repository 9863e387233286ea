"""Movies added to the catalogue lately: shown at the top of the popular lists at once.

A movie nobody has rated yet cannot be trending, and a new user is served the popular list;
so the API records each movie it adds, and the readers put the newest ones (at most
``REELSTREAM_NEW_MOVIE_SLOTS``, added in the last ``REELSTREAM_NEW_MOVIE_DAYS``) first in that
list. Redis keeps a sorted set (movie -> time added) and, written in the same Lua call, its
JSON copy: the API's hot read path only has ``GET``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import orjson

__all__ = ["mark_new", "unmark", "newest", "put_first", "new_movies_key", "KEEP"]

KEEP = 100  # movies remembered; far more than are ever shown

_MARK = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[3]) + 1))
local pairs = redis.call('ZREVRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local out = {}
for i = 1, #pairs, 2 do out[#out + 1] = {tonumber(pairs[i]), tonumber(pairs[i + 1])} end
redis.call('SET', KEYS[2], cjson.encode(out))
return #out
"""
_UNMARK = """
redis.call('ZREM', KEYS[1], ARGV[1])
local pairs = redis.call('ZREVRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local out = {}
for i = 1, #pairs, 2 do out[#out + 1] = {tonumber(pairs[i]), tonumber(pairs[i + 1])} end
redis.call('SET', KEYS[2], #out > 0 and cjson.encode(out) or '[]')
return #out
"""


def new_movies_key(prefix: str) -> str:
    """The JSON list ``[[movie_id, added_at], ...]``, newest first."""
    return f"{prefix}movies:new"


def _keys(prefix: str) -> list[str]:
    return [f"{prefix}movies:new:set", new_movies_key(prefix)]


def mark_new(client: Any, prefix: str, movie_id: int, at: float | None = None) -> None:
    """Record ``movie_id`` as added now (``client``: a synchronous redis-py client)."""
    client.eval(_MARK, 2, *_keys(prefix), int(movie_id), at or time.time(), KEEP)


def unmark(client: Any, prefix: str, movie_id: int) -> None:
    client.eval(_UNMARK, 2, *_keys(prefix), int(movie_id))


def newest(raw: bytes | None, slots: int, window_s: float, now: float | None = None) -> list[int]:
    """The ids to show first, from the JSON copy (``raw``, as read with ``GET``).

    >>> newest(b"[[7, 100.0], [5, 50.0]]", slots=2, window_s=60, now=120.0)
    [7]
    """
    if not raw or slots <= 0:
        return []
    since = (now or time.time()) - window_s
    return [int(m) for m, at in orjson.loads(raw) if at >= since][:slots]


def put_first(first: Sequence[int], ids: Sequence[int], scores: Sequence[float],
              n: int) -> tuple[list[int], list[float]]:
    """``first`` ahead of a ranked list (no repeats), cut to ``n``; they take the top score.

    >>> put_first([9], [1, 9, 2], [3.0, 2.0, 1.0], 3)
    ([9, 1, 2], [3.0, 3.0, 1.0])
    """
    top = max(scores, default=0.0)
    head = list(dict.fromkeys(first))
    rest = [(i, s) for i, s in zip(ids, scores) if i not in set(head)]
    out_ids = head + [i for i, _ in rest]
    out_scores = [float(top)] * len(head) + [float(s) for _, s in rest]
    return out_ids[:n], out_scores[:n]
