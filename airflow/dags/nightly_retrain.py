"""Nightly batch retraining: PostgreSQL snapshot -> train -> evaluate -> MLflow -> promote.

Each run reads only the ratings stored before its data interval end (never "now"), so a
re-run of an interval sees the same data; the pipeline is idempotent per interval (MLflow run
tagged ``data_interval_end``), so retries and re-runs register and promote at most once.
Heavy imports (pandas, mlflow, numpy) happen inside the tasks: parsing this file is cheap.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task


@dag(
    dag_id="nightly_retrain",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["reelstream", "mlops"],
)
def nightly_retrain():
    @task
    def snapshot(data_interval_end=None) -> dict:
        """Write the ratings stored before the interval end to a parquet file."""
        from reelstream.training.data import postgres_snapshot

        settings = _settings()
        end = pendulum.instance(data_interval_end).in_tz("UTC")
        ratings = postgres_snapshot(settings.postgres_dsn, end)
        folder = settings.state_dir / "airflow" / "snapshots"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"ratings-{end.format('YYYYMMDDTHHmmss')}.parquet"
        ratings.to_parquet(path, index=False)
        return {"path": str(path), "interval_end": end.isoformat(), "n_ratings": len(ratings)}

    @task
    def retrain(snap: dict) -> dict:
        """Train, evaluate, log, register; move `champion` only if NDCG@10 improves."""
        import pandas as pd

        from reelstream.training.data import load_params
        from reelstream.training.run import retrain_once

        if snap["n_ratings"] == 0:
            return {"skipped": "empty snapshot", "promoted": False}
        ratings = pd.read_parquet(snap["path"])
        params_file = _params_file()
        outcome, _ = retrain_once(ratings, _settings(), snap["interval_end"],
                                  load_params(params_file))
        return {"version": outcome.version, "promoted": outcome.promoted,
                "champion": outcome.champion, "reused": outcome.reused,
                "reason": outcome.reason, "ndcg_at_10": outcome.metrics.get("ndcg_at_10")}

    @task
    def announce(outcome: dict) -> int:
        """Tell running workers about a new champion (they also poll, so this is a fast path)."""
        if not outcome.get("promoted") or outcome.get("reused"):
            return 0
        from reelstream.streaming.promotion import announce_promotion

        try:
            return announce_promotion(_settings(), outcome["version"])
        except Exception:  # noqa: BLE001 - Redis down must not fail a registered model
            return 0

    announce(retrain(snapshot()))


def _settings():
    """Fresh settings from the ``REELSTREAM_*`` variables of this task's environment.

    Not the cached ``get_settings()``: tasks run in a long-lived process under ``dag.test``
    and the variables (DSN, MLflow URI, Redis URL) are the task's configuration.
    """
    from reelstream.settings import Settings

    return Settings()


def _params_file():
    """params.yaml of the repository (REELSTREAM_PARAMS overrides)."""
    import os
    from pathlib import Path

    explicit = os.environ.get("REELSTREAM_PARAMS")
    return Path(explicit) if explicit else Path(__file__).resolve().parents[2] / "params.yaml"


nightly_retrain()
