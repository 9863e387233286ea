"""The model registry as the API shows it: versions with their quality, the champion alias,
promote / roll back (then tell the workers), and one user's list scored by any version.

Every call talks to MLflow (blocking HTTP): the API runs them in its thread pool. Factors of
versions asked to score a user are kept in a small LRU (:data:`MAX_LOADED_VERSIONS`), so a side
by side comparison downloads each version once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from reelstream.serving.incidents import log_dependency_failure
from reelstream.settings import Settings

__all__ = [
    "MAX_LISTED_VERSIONS",
    "MAX_LOADED_VERSIONS",
    "ModelRegistryError",
    "UnknownVersion",
    "list_models",
    "promote_version",
    "rollback_champion",
    "VersionScorer",
]

MAX_LISTED_VERSIONS = 50
_REGISTRY_ERROR = "model registry error"  # the driver's message goes to the log only
MAX_LOADED_VERSIONS = 3
_RUN_METRICS = ("ndcg_at_10", "recall_at_10", "precision_at_10", "rmse", "coverage",
                "popularity_percentile", "train_seconds")
_RUN_PARAMS = ("snapshot_start", "snapshot_end", "snapshot_n_ratings", "snapshot_n_users", "snapshot_n_movies")


class ModelRegistryError(Exception):
    """MLflow could not be reached or refused the request."""


class UnknownVersion(LookupError):
    """No such registered version."""


def _float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if out != out else out  # NaN -> None


def _require_registry(settings: Settings) -> None:
    from reelstream.champion_channel import registry_reachable

    if not registry_reachable(settings):
        raise ModelRegistryError("model registry unreachable")


def list_models(settings: Settings) -> dict[str, Any]:
    """``{"name", "champion", "versions": [...]}``, newest version first, at most
    :data:`MAX_LISTED_VERSIONS`, each with its run's quality metrics and snapshot range."""
    _require_registry(settings)
    from reelstream.training.registry import CHAMPION, client_for, list_versions

    try:
        rows = list_versions(settings)[:MAX_LISTED_VERSIONS]
        client = client_for(settings)
        versions = []
        for row in rows:
            metrics: dict[str, Any] = {}
            params: dict[str, Any] = {}
            if row.get("run_id"):
                run = client.get_run(row["run_id"])
                metrics, params = run.data.metrics, run.data.params
            versions.append(
                {
                    "version": row["version"],
                    "aliases": row["aliases"],
                    "created_at": datetime.fromtimestamp(row["created"] / 1000, UTC).isoformat(),
                    "data_interval_end": row.get("data_interval_end"),
                    "data_start": params.get("snapshot_start"),
                    "data_end": params.get("snapshot_end"),
                    "n_ratings": _float(params.get("snapshot_n_ratings")),
                    "run_id": row.get("run_id"),
                    "metrics": {
                        k: _float(metrics.get(k, row.get(k))) for k in _RUN_METRICS
                    },
                }
            )
    except Exception as exc:  # MlflowException, connection errors
        log_dependency_failure(_REGISTRY_ERROR, exc)
        raise ModelRegistryError(_REGISTRY_ERROR) from exc
    champion = next((v["version"] for v in versions if CHAMPION in v["aliases"]), None)
    return {"name": settings.registered_model_name, "champion": champion, "versions": versions}


def _announce(settings: Settings, version: str) -> int | None:
    from reelstream.champion_channel import announce_promotion

    try:
        return announce_promotion(settings, version)
    except Exception:  # workers also poll the registry: Redis being down is not fatal
        return None


def promote_version(settings: Settings, version: str, reason: str) -> dict[str, Any]:
    from mlflow.exceptions import MlflowException

    from reelstream.training.registry import promote

    _require_registry(settings)
    try:
        promote(version, settings, reason=reason)
    except MlflowException as exc:
        if "RESOURCE_DOES_NOT_EXIST" in str(exc.error_code):
            raise UnknownVersion(f"version {version} is not registered") from exc
        log_dependency_failure(_REGISTRY_ERROR, exc)
        raise ModelRegistryError(_REGISTRY_ERROR) from exc
    return {"champion": version, "workers_notified": _announce(settings, version)}


def rollback_champion(settings: Settings) -> dict[str, Any]:
    from reelstream.training.registry import rollback

    _require_registry(settings)
    version = rollback(settings)  # LookupError when there is no earlier champion
    return {"champion": version, "workers_notified": _announce(settings, version)}


class VersionScorer:
    """A user's top-n from one registered version's factors (the batch model itself, without
    the online updates a worker adds on top)."""

    def __init__(self, settings: Settings, max_loaded: int = MAX_LOADED_VERSIONS) -> None:
        self.settings = settings
        self.max_loaded = max_loaded
        self._models: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def _load(self, version: str) -> Any:
        with self._lock:
            if version in self._models:
                self._models.move_to_end(version)
                return self._models[version]
        import tempfile
        from pathlib import Path

        import mlflow.artifacts
        from mlflow.exceptions import MlflowException

        _require_registry(self.settings)

        from reelstream.models.batch import BatchModel
        from reelstream.training.registry import client_for

        name = self.settings.registered_model_name
        client_for(self.settings)  # sets the tracking/registry URIs
        try:
            with tempfile.TemporaryDirectory() as tmp:
                local = mlflow.artifacts.download_artifacts(
                    artifact_uri=f"models:/{name}/{version}", dst_path=tmp
                )
                model = BatchModel.load(next(Path(local).rglob("factors.npz")))
        except MlflowException as exc:
            if "RESOURCE_DOES_NOT_EXIST" in str(exc.error_code) or "not found" in str(exc).lower():
                raise UnknownVersion(f"version {version} is not registered") from exc
            log_dependency_failure(_REGISTRY_ERROR, exc)
            raise ModelRegistryError(_REGISTRY_ERROR) from exc
        with self._lock:
            self._models[version] = model
            while len(self._models) > self.max_loaded:
                self._models.popitem(last=False)
        return model

    def top_n(
        self, version: str, user_id: int, n: int, exclude: Iterable[int] = ()
    ) -> tuple[bool, list[tuple[int, float]]]:
        """``(known_user, [(movie_id, score)...])``. A user the version never saw gets the
        version's most popular movies (``known_user`` False)."""
        model = self._load(version)
        excluded = model.item_index(np.fromiter(exclude, dtype=np.int64))
        row = int(model.user_index(np.array([user_id]))[0])
        if row >= 0:
            scores = model.rank_scores(np.array([row]))[0].copy()
        else:
            scores = np.asarray(model.item_popularity, dtype=np.float64).copy()
        scores[excluded[excluded >= 0]] = -np.inf
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[np.isfinite(scores[top])]
        return row >= 0, [(int(model.movie_ids[i]), float(scores[i])) for i in top]
