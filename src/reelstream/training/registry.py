"""MLflow side of the pipeline: log, register, gated promotion (the champion alias itself:
:mod:`reelstream.training.champion`).

Conventions (all visible in the MLflow UI):

* one run per data interval, tagged ``data_interval_end``; re-running an interval returns the
  existing run's outcome instead of registering again;
* a run may also carry ``snapshot_sha256`` (its ratings and parameters): a later run of the
  same content returns that run's outcome too (:func:`find_snapshot_run`);
* every registered version carries tags ``ndcg_at_10``, ``rmse``, ``data_interval_end``;
* the ``champion`` alias is the served model, ``previous-champion`` the one before; the full
  promotion history is the registered-model tag ``champion_history`` (JSON list of versions),
  so ``rollback`` can be repeated.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import mlflow.artifacts
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from reelstream.settings import Settings
from reelstream.training.live_gate import CHALLENGER, PromotionPolicy
from reelstream.training.champion import (
    CHAMPION,
    PREVIOUS_CHAMPION,
    Champion,
    champion_version,
    client_for,
    load_champion,
    promote,
    rollback,
)
from reelstream.training.pipeline import TrainingResult

__all__ = [
    "CHAMPION",
    "PREVIOUS_CHAMPION",
    "GATE_METRIC",
    "Champion",
    "RegistryOutcome",
    "client_for",
    "find_interval_run",
    "find_snapshot_run",
    "log_and_register",
    "promote",
    "rollback",
    "list_versions",
    "champion_version",
    "load_champion",
]

GATE_METRIC = "ndcg_at_10"
INTERVAL_TAG = "data_interval_end"
SNAPSHOT_TAG = "snapshot_sha256"


@dataclass
class RegistryOutcome:
    version: str
    run_id: str
    promoted: bool
    champion: str | None
    metrics: dict[str, float] = field(default_factory=dict)
    reused: bool = False  # True when this interval had already been registered
    reason: str = ""


def _experiment_id(client: MlflowClient, settings: Settings) -> str:
    experiment = client.get_experiment_by_name(settings.mlflow_experiment)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(settings.mlflow_experiment)


def _version_metric(client: MlflowClient, name: str, version: str) -> float:
    tags = client.get_model_version(name, version).tags
    return float(tags.get(GATE_METRIC, "nan"))


def _registered_run(settings: Settings, tag: str, value: str) -> Any | None:
    """The earliest run tagged ``tag = value`` that registered a model version, or None."""
    client = client_for(settings)
    experiment = client.get_experiment_by_name(settings.mlflow_experiment)
    if experiment is None:
        return None
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.{tag} = '{value}' and tags.model_version != ''",
        order_by=["attributes.start_time ASC"],
        max_results=1,
    )
    return runs[0] if runs else None


def _reused(settings: Settings, run: Any, reason: str) -> RegistryOutcome:
    return RegistryOutcome(
        version=run.data.tags["model_version"],
        run_id=run.info.run_id,
        promoted=run.data.tags.get("promoted") == "true",
        champion=champion_version(settings),
        metrics=dict(run.data.metrics),
        reused=True,
        reason=reason,
    )


def find_interval_run(settings: Settings, data_interval_end: str) -> RegistryOutcome | None:
    """The outcome of an earlier run of this data interval that registered a model."""
    run = _registered_run(settings, INTERVAL_TAG, data_interval_end)
    if run is None:
        return None
    return _reused(settings, run, f"interval {data_interval_end} already trained")


def find_snapshot_run(settings: Settings, fingerprint: str) -> RegistryOutcome | None:
    """The outcome of an earlier run that trained on the same ratings with the same params."""
    run = _registered_run(settings, SNAPSHOT_TAG, fingerprint)
    if run is None:
        return None
    return _reused(
        settings, run,
        f"same ratings and parameters as version {run.data.tags['model_version']} "
        f"(cut-off {run.data.tags.get(INTERVAL_TAG, '?')}): no new ratings since",
    )


def log_and_register(
    result: TrainingResult,
    settings: Settings,
    data_interval_end: str,
    extra_tags: dict[str, str] | None = None,
    policy: PromotionPolicy | None = None,
) -> RegistryOutcome:
    """Log params/metrics/model, register a version and promote it if it wins.

    With ``policy.promote_if`` ``live`` (or ``both``, once the offline gate passed) a version
    is not promoted here: it becomes the ``challenger`` the workers shadow
    (:mod:`reelstream.training.live_gate`).

    Idempotent per ``data_interval_end``: when a run for it already registered a version,
    that outcome is returned and nothing is logged.
    """
    existing = find_interval_run(settings, data_interval_end)
    if existing is not None:
        return existing
    client = client_for(settings)
    name = settings.registered_model_name
    metrics = dict(result.metrics)
    metrics["train_seconds"] = result.train_seconds
    for baseline, values in result.baselines.items():
        metrics.update({f"{baseline}_{k}": v for k, v in values.items()})

    from reelstream.training.pyfunc import FACTORS_ARTIFACT, SIGNATURE, BatchRatingModel

    with mlflow.start_run(
        experiment_id=_experiment_id(client, settings),
        run_name=f"retrain-{data_interval_end}",
        tags={INTERVAL_TAG: data_interval_end, **(extra_tags or {})},
    ) as run, tempfile.TemporaryDirectory() as tmp:
        mlflow.log_params({**result.params.to_dict(), **result.snapshot.as_params()})
        mlflow.log_metrics(metrics)
        factors = result.model.save(Path(tmp) / "factors.npz")
        mlflow.log_artifact(str(factors))
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=BatchRatingModel(),
            artifacts={FACTORS_ARTIFACT: str(factors)},
            signature=SIGNATURE,
            pip_requirements=["mlflow", "numpy", "pandas"],
            registered_model_name=name,
        )
        version = str(info.registered_model_version)
        for key in (GATE_METRIC, "rmse"):
            client.set_model_version_tag(name, version, key, str(result.metrics[key]))
        client.set_model_version_tag(name, version, INTERVAL_TAG, data_interval_end)
        client.set_model_version_tag(name, version, "run_id", run.info.run_id)

        current = champion_version(settings, client)
        new_score = float(result.metrics[GATE_METRIC])
        if current is None:
            promoted, reason = True, "first model"
        else:
            best = _version_metric(client, name, current)
            promoted = new_score > best
            reason = (
                f"{GATE_METRIC} {new_score:.4f} {'>' if promoted else '<='} "
                f"champion v{current} {best:.4f}"
            )
        policy = policy or PromotionPolicy()
        if current is not None and policy.needs_live and (promoted or policy.promote_if == "live"):
            promoted = False
            reason = f"{reason}; awaiting the live comparison (promote_if: {policy.promote_if})"
            client.set_registered_model_alias(name, CHALLENGER, version)
        if promoted:
            promote(version, settings, reason=reason)
        mlflow.set_tags(
            {"model_version": version, "promoted": str(promoted).lower(), "gate": reason}
        )
        return RegistryOutcome(
            version=version,
            run_id=run.info.run_id,
            promoted=promoted,
            champion=champion_version(settings, client),
            metrics=metrics,
            reason=reason,
        )


def list_versions(settings: Settings) -> list[dict[str, Any]]:
    """Every registered version, newest first, with its aliases and gate metrics."""
    client = client_for(settings)
    name = settings.registered_model_name
    try:
        versions = client.search_model_versions(f"name='{name}'")
    except MlflowException:
        return []
    if not versions:  # the registered model may not exist yet
        return []
    by_version: dict[str, list[str]] = {}
    for alias, version in client.get_registered_model(name).aliases.items():
        by_version.setdefault(str(version), []).append(alias)
    rows = []
    for mv in sorted(versions, key=lambda v: int(v.version), reverse=True):
        rows.append(
            {
                "version": str(mv.version),
                "aliases": sorted(by_version.get(str(mv.version), [])),
                GATE_METRIC: mv.tags.get(GATE_METRIC),
                "rmse": mv.tags.get("rmse"),
                INTERVAL_TAG: mv.tags.get(INTERVAL_TAG),
                "run_id": mv.run_id,
                "created": mv.creation_timestamp,
            }
        )
    return rows


