"""The asyncio Redis client behind the API's reads, chosen by ``REELSTREAM_API_REDIS_CLIENT``.

The reader needs two calls, ``await get(key) -> bytes | None`` and ``await aclose()``, and a
failure raised as an exception (it then answers from its fallbacks). The setting names one of

=================  ============================================================================
``pipelined``      :class:`reelstream.serving.redis_get.PipelinedGetClient` (default; why:
                   ``docs/performance.md``, bench api)
``redis-py``       ``redis.asyncio.Redis`` with the hiredis parser
``module:factory`` any ``factory(url, timeout_s)`` returning such a client: the benchmarks'
                   adapters of other libraries (``benchmarks.redis_clients``), which
                   ``reelstream bench api --redis-clients ...`` runs side by side
=================  ============================================================================
"""

from __future__ import annotations

import importlib
from typing import Any

from reelstream.serving.redis_get import async_get_client

__all__ = ["BUILT_IN", "open_get_client"]

BUILT_IN = ("pipelined", "redis-py")


def open_get_client(url: str, kind: str = "pipelined", timeout_s: float = 2.0) -> Any:
    """A client for ``url`` with ``get`` and ``aclose``; nothing connects before the first get."""
    if kind == "pipelined":
        return async_get_client(url, timeout_s)
    if kind == "redis-py":
        import redis.asyncio

        return redis.asyncio.Redis.from_url(
            url, max_connections=1000, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
    module, sep, name = kind.partition(":")
    if not sep:
        raise ValueError(
            f"unknown Redis client {kind!r}; choose {' or '.join(BUILT_IN)} or module:factory"
        )
    return getattr(importlib.import_module(module), name)(url, timeout_s)
