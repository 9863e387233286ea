"""The registry's ``challenger`` in a running worker: shadowed beside the champion, and the
live gate that settles it (:mod:`reelstream.training.live_gate`).

The challenger is the registered version under the ``challenger`` alias (set by a retrain
with ``promote_if: live|both``). The worker warm-starts a copy of its model from it (the
stream state — rated movies, trending counts, transitions — is copied, the factors are the
version's), so both models answer the same events from the same history; it learns every
event and serves nothing. One worker (the lowest id among those alive) checks the merged live
figures every ``REELSTREAM_LIVE_GATE_EVERY_S`` and, once decided, promotes or drops the
version and tells the others.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import TYPE_CHECKING

from reelstream.settings import Settings
from reelstream.streaming.promotion import (
    check_champion,
    current_champion_version,
    rebase_on_champion,
)
from reelstream.streaming.resilience import describe

if TYPE_CHECKING:
    from reelstream.streaming.processor import BatchProcessor

__all__ = ["follow_challenger", "live_gate_loop", "CHALLENGER_PREFIX"]

log = logging.getLogger(__name__)

CHALLENGER_PREFIX = "challenger-v"


def _registry_version(live) -> str | None:  # noqa: ANN001
    model = live.challenger
    base = getattr(model, "base_version", None) or ""
    return base[len(CHALLENGER_PREFIX):] if base.startswith(CHALLENGER_PREFIX) else None


async def follow_challenger(settings: Settings, processor: BatchProcessor, lock: asyncio.Lock) -> None:
    """Shadow the version under the ``challenger`` alias (and stop when it is gone)."""
    live = processor.live
    if live is None:
        return
    try:
        version = await asyncio.to_thread(current_champion_version, settings, "challenger")
    except Exception as exc:  # noqa: BLE001 - the registry being away must not stop the stream
        log.warning("challenger not checked (%s)", describe(exc))
        return
    shadowing = _registry_version(live)
    if version == shadowing:
        return
    if version is None:
        log.info("challenger v%s settled; no shadow model now", shadowing)
        live.set_challenger(None)
        return
    from reelstream.training.champion import load_champion  # imports MLflow: only when needed

    try:
        loaded = await asyncio.to_thread(load_champion, settings, "challenger")
        if loaded is None:
            return
        async with lock:  # the model must not change while it is copied
            shadow = await asyncio.to_thread(_shadow_of, processor, loaded)
    except Exception as exc:  # noqa: BLE001 - a bad challenger is skipped, the worker goes on
        log.error("challenger v%s not shadowed: %s", version, describe(exc))
        return
    live.set_challenger(shadow)
    log.info("shadowing %s beside %s", shadow.version, processor.model.version)


def _shadow_of(processor: BatchProcessor, loaded):  # noqa: ANN001, ANN202
    check_champion(loaded)  # the same checks as a champion's: shapes, finite values
    model = processor.model
    journal, model.item_journal = model.item_journal, None
    try:
        stream_state = copy.deepcopy(model)
    finally:
        model.item_journal = journal
    shadow = rebase_on_champion(stream_state, loaded)
    shadow.base_version = f"{CHALLENGER_PREFIX}{loaded.version}"
    return shadow


async def live_gate_loop(settings: Settings, processor: BatchProcessor, lock: asyncio.Lock) -> None:
    """While a registry challenger is shadowed, let the lowest-id live worker settle it."""
    from reelstream.training.live_gate import load_promotion_policy

    policy = load_promotion_policy(settings.params)
    if not policy.needs_live:
        return
    while True:
        await asyncio.sleep(settings.live_gate_every_s)
        live = processor.live
        if live is None or _registry_version(live) is None:
            continue
        try:
            await asyncio.to_thread(_gate_once, settings, policy)
        except Exception as exc:  # noqa: BLE001 - retried at the next interval
            log.warning("live gate not checked (%s)", describe(exc))


def _gate_once(settings: Settings, policy) -> None:  # noqa: ANN001
    import redis

    from reelstream.champion_channel import announce_challenger, announce_promotion
    from reelstream.evaluation.live_figures import live_models

    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
    try:
        figures = live_models(client, settings.redis_prefix, settings.health_heartbeat_max_age_s)
    finally:
        client.close()
    alive = sorted(w["worker_id"] for w in figures["workers"])
    if alive and alive[0] != settings.worker_id:
        return  # another worker settles it
    from reelstream.training.live_settle import settle_challenger

    settled = settle_challenger(settings, policy, figures["roles"])
    if settled is None or settled[1].decision == "wait":
        return
    version, verdict = settled
    log.info("live gate: challenger v%s %s (%s)", version, verdict.decision, verdict.reason)
    if verdict.decision == "promote":
        announce_promotion(settings, version)
    else:
        announce_challenger(settings, version, verdict.decision)
