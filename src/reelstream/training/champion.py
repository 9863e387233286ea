"""The served model in the registry: the ``champion`` alias, its promotion history, loading it.

The ``champion`` alias is the served model, ``previous-champion`` the one before; the full
promotion history is the registered-model tag ``champion_history`` (JSON list of versions), so
:func:`rollback` can be repeated.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import NamedTuple

import mlflow
import mlflow.artifacts
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from reelstream.models.batch import BatchModel
from reelstream.settings import Settings

__all__ = [
    "CHAMPION",
    "PREVIOUS_CHAMPION",
    "Champion",
    "client_for",
    "champion_version",
    "promote",
    "rollback",
    "load_champion",
]

CHAMPION = "champion"
PREVIOUS_CHAMPION = "previous-champion"
HISTORY_TAG = "champion_history"


class Champion(NamedTuple):
    """What the streaming worker needs: the version (for Redis) and the arrays."""

    version: str
    model: BatchModel


def client_for(settings: Settings) -> MlflowClient:
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_registry_uri(settings.mlflow_tracking_uri)
    return MlflowClient(settings.mlflow_tracking_uri, settings.mlflow_tracking_uri)


def _history(client: MlflowClient, name: str) -> list[str]:
    try:
        tags = client.get_registered_model(name).tags
    except MlflowException:
        return []
    return list(json.loads(tags.get(HISTORY_TAG, "[]")))


def champion_version(settings: Settings, client: MlflowClient | None = None) -> str | None:
    """The version the ``champion`` alias points at, or None."""
    client = client or client_for(settings)
    try:
        return str(
            client.get_model_version_by_alias(settings.registered_model_name, CHAMPION).version
        )
    except MlflowException:
        return None


def promote(version: str | int, settings: Settings, reason: str = "manual") -> str:
    """Point ``champion`` at ``version`` (the old champion becomes ``previous-champion``)."""
    client = client_for(settings)
    name = settings.registered_model_name
    version = str(version)
    client.get_model_version(name, version)  # raises if it does not exist
    current = champion_version(settings, client)
    if current == version:
        return version
    history = _history(client, name)
    if current is not None:
        client.set_registered_model_alias(name, PREVIOUS_CHAMPION, current)
    client.set_registered_model_alias(name, CHAMPION, version)
    client.set_registered_model_tag(name, HISTORY_TAG, json.dumps([*history, version]))
    client.set_model_version_tag(name, version, "promotion_reason", reason)
    return version


def rollback(settings: Settings) -> str:
    """Put the previous champion back; repeatable down the promotion history."""
    client = client_for(settings)
    name = settings.registered_model_name
    history = _history(client, name)
    current = champion_version(settings, client)
    if current is not None and history and history[-1] == current:
        history = history[:-1]
    if not history:
        raise LookupError("no previous champion to roll back to")
    target = history[-1]
    client.set_registered_model_alias(name, CHAMPION, target)
    if len(history) > 1:
        client.set_registered_model_alias(name, PREVIOUS_CHAMPION, history[-2])
    else:
        try:
            client.delete_registered_model_alias(name, PREVIOUS_CHAMPION)
        except MlflowException:
            pass
    client.set_registered_model_tag(name, HISTORY_TAG, json.dumps(history))
    if current is not None:
        client.set_model_version_tag(name, current, "rolled_back", "true")
    return target


def load_champion(settings: Settings, alias: str = CHAMPION) -> Champion | None:
    """Download the champion's ``factors.npz`` and load it (no pickled code involved)."""
    client = client_for(settings)
    name = settings.registered_model_name
    try:
        mv = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{name}/{mv.version}", dst_path=tmp
        )
        path = next(Path(local).rglob("factors.npz"))
        return Champion(version=str(mv.version), model=BatchModel.load(path))
