"""Promotion reaches the stream: announce a new champion, and adopt it in a running worker.

Adopting means warm-starting the online model from the champion's factors and biases while
keeping what the stream taught it that the batch model cannot know: which movies each user
rated (excluded from recommendations), trending counts, and the learned-event count. Online
learning then goes on from the champion's weights, and the recommendations the worker writes
carry the version ``champion-v{N}+online``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import numpy as np

from reelstream.champion_channel import announce_promotion, promotions_channel, registry_reachable
from reelstream.models import OnlineRecommender
from reelstream.settings import Settings

if TYPE_CHECKING:
    from reelstream.streaming.processor import BatchProcessor
    from reelstream.training.registry import Champion

__all__ = [
    "promotions_channel",
    "announce_promotion",
    "champion_label",
    "current_champion_version",
    "fetch_new_champion",
    "rebase_on_champion",
    "check_champion",
]

log = logging.getLogger(__name__)


def champion_label(version: str) -> str:
    return f"champion-v{version}"


def current_champion_version(settings: Settings, alias: str = "champion") -> str | None:
    """The version the registry's ``champion`` alias (or ``alias``) points at, or None if
    there is none.

    Against a tracking server this is one REST call (``GET registered-models/alias``), so the
    worker checks for a champion without importing MLflow — that import costs seconds of CPU
    the stream would feel. File and database stores go through the MLflow client.
    Raises :class:`ConnectionError` when the tracking server is not reachable.
    """
    url = settings.mlflow_tracking_uri.rstrip("/")
    if urlsplit(url).scheme not in ("http", "https"):
        from reelstream.training.registry import client_for

        try:
            version = client_for(settings).get_model_version_by_alias(
                settings.registered_model_name, alias
            ).version
        except Exception:  # noqa: BLE001 - MlflowException: no such model or alias
            return None
        return str(version)
    import httpx

    try:
        response = httpx.get(
            f"{url}/api/2.0/mlflow/registered-models/alias",
            params={"name": settings.registered_model_name, "alias": alias},
            timeout=5.0,
        )
    except httpx.TransportError as exc:
        raise ConnectionError(f"MLflow at {url} is not reachable: {exc}") from exc
    if response.status_code == 404:  # no such registered model yet
        return None
    if response.status_code == 400 and "alias" in response.json().get("message", ""):
        return None  # the model exists but no version is champion
    response.raise_for_status()
    return str(response.json()["model_version"]["version"])


def fetch_new_champion(settings: Settings, current_base: str | None) -> Champion | None:
    """The registry's champion if it differs from ``current_base``, else None (cheap check).

    Raises :class:`ConnectionError` when the tracking server is not reachable.
    """
    if not registry_reachable(settings):
        raise ConnectionError(f"MLflow at {settings.mlflow_tracking_uri} is not reachable")
    version = current_champion_version(settings)
    if version is None or champion_label(version) == current_base:
        return None
    from reelstream.training.registry import load_champion  # imports MLflow: only when needed

    return load_champion(settings)


def rebase_on_champion(model: OnlineRecommender, champion: Champion) -> OnlineRecommender:
    """A model warm-started from ``champion`` that keeps ``model``'s stream state.

    The item index (movie id → row), the rated sets, the trending counts and the item
    transitions are all kept by row, so they are carried over as they are; the factors and
    biases come from the champion.
    """
    batch = champion.model
    config = model.config.model_copy(update={"n_factors": batch.n_factors})
    fresh = OnlineRecommender(config)
    fresh.index, fresh.rated, fresh.trending = model.index, model.rated, model.trending
    fresh.transitions = model.transitions
    fresh.events_learned = model.events_learned
    fresh._ensure_capacity()
    fresh.warm_start(
        (batch.movie_ids, batch.item_factors),
        (batch.movie_ids, batch.item_bias),
        batch.global_mean,
        champion_label(champion.version),
        user_factors=(batch.user_ids, batch.user_factors),
        user_biases=(batch.user_ids, batch.user_bias),
    )
    fresh.item_item = model.item_item
    if fresh.item_item is not None and batch.item_ranker is not None:
        # The champion's item-item weights, by the online rows of its movies; the input (each
        # user's history) stays the worker's own, so ratings since the snapshot count.
        rows = np.array([fresh.index.get(int(m)) for m in batch.movie_ids], dtype=np.int64)
        fresh.item_item.load(batch.item_ranker.ease, rows, len(fresh.index),
                             champion_label(champion.version))
    return fresh


def check_champion(champion: Champion) -> None:
    """Refuse a champion the worker must not serve: mismatched shapes or non-finite values
    (a NaN factor would make every score NaN). Raises :class:`ValueError` with the reason."""
    m = champion.model
    users, items = len(m.user_ids), len(m.movie_ids)
    k = m.item_factors.shape[1] if m.item_factors.ndim == 2 else -1
    shapes = {
        "item_factors": (m.item_factors.shape, (items, k)),
        "user_factors": (m.user_factors.shape, (users, k)),
        "item_bias": (m.item_bias.shape, (items,)),
        "user_bias": (m.user_bias.shape, (users,)),
    }
    for name, (got, want) in shapes.items():
        if got != want or k <= 0:
            raise ValueError(f"{name} has shape {got}, expected {want}")
    for name in ("item_factors", "user_factors", "item_bias", "user_bias"):
        if not np.isfinite(getattr(m, name)).all():
            raise ValueError(f"{name} holds NaN or infinite values")
    if not np.isfinite(m.global_mean):
        raise ValueError("global_mean is not finite")


def adopt(processor: BatchProcessor, champion: Champion) -> None:
    """Swap the processor's model for one rebased on ``champion`` and checkpoint it; a
    champion that fails :func:`check_champion` raises and changes nothing."""
    check_champion(champion)
    processor.model = rebase_on_champion(processor.model, champion)
    processor.checkpoint()
