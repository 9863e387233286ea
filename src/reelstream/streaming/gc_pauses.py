"""Short garbage-collection pauses in the worker's two processes.

The processor keeps millions of long-lived objects (River's weights, each user's rated movies,
transition counts), Faust's process its libraries' objects; a full collection scans them all
and stops the stream meanwhile, a large part of a freshness p99 (docs/performance.md). Objects
that survive a full collection are long-lived, so they are frozen (:func:`gc.freeze`) and later
full collections scan only what came after.
Once an hour they are thawed, so that whatever became cyclic garbage since (a replaced model)
is reclaimed by the next full collection.
"""

from __future__ import annotations

import gc
import time

__all__ = ["keep_full_collections_short"]

THAW_EVERY_S = 3600.0
_last_thaw = 0.0


def keep_full_collections_short() -> None:
    """From now on, in this process, freeze what survives each full collection."""
    global _last_thaw
    if _after_collection not in gc.callbacks:
        _last_thaw = time.monotonic()
        gc.callbacks.append(_after_collection)


def _after_collection(phase: str, info: dict) -> None:
    global _last_thaw
    if phase != "stop" or info["generation"] != 2:
        return
    now = time.monotonic()
    if now - _last_thaw >= THAW_EVERY_S:
        gc.unfreeze()
        _last_thaw = now
    else:
        gc.freeze()
