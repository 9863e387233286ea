"""Nightly batch retraining: PostgreSQL snapshot -> train -> evaluate -> MLflow -> promote.

Each run trains on the ratings made before its **cut-off**:

* a scheduled run: its data interval end (00:00 UTC of the night it runs for);
* a manual run given a logical date (the UI's Trigger dialog fills in the current time): that
  date, which is then its data interval end;
* a manual run without a logical date (``airflow dags trigger``, ``POST .../dagRuns`` with
  ``"logical_date": null``, ``reelstream retrain --trigger``) has no data interval in Airflow 3:
  its ``run_after``, the moment it was asked for, so it takes everything stored up to then;
* any run whose conf names one, e.g. ``{"cutoff": "2026-12-01T00:00:00Z"}`` (ISO 8601, naive
  means UTC, not later than ``run_after``); a bad conf fails the run at once, without retries.

A run is idempotent: a cut-off already trained, or exactly the same ratings and parameters as
a registered version (a second manual run with no new ratings), registers and promotes nothing
and returns that version with the reason. Retries therefore register at most once. Heavy
imports (pandas, mlflow, numpy) happen inside the tasks: parsing this file is cheap.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task


@dag(
    dag_id="nightly_retrain",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["reelstream", "mlops"],
    params={
        "cutoff": Param(
            None, type=["null", "string"], title="Cut-off (optional)",
            description="Train on ratings made before this ISO 8601 datetime (UTC if naive). "
            "Empty: the run's data interval end (a scheduled run's night, or the logical "
            "date given), else the moment of triggering.",
        ),
    },
)
def nightly_retrain():
    @task
    def snapshot(dag_run=None, data_interval_end=None, params=None) -> dict:
        """Write the ratings made before the run's cut-off to a parquet file."""
        from airflow.sdk.exceptions import AirflowFailException

        from reelstream.training.cutoff import run_cutoff
        from reelstream.training.data import postgres_snapshot

        conf = {k: v for k, v in {**(dag_run.conf or {}), **(params or {})}.items()
                if v is not None}
        try:
            cutoff = run_cutoff(run_after=dag_run.run_after,
                                data_interval_end=data_interval_end, conf=conf)
        except ValueError as exc:  # a retry cannot fix the conf
            raise AirflowFailException(f"bad run conf: {exc}") from exc
        print(f"snapshot: {cutoff.describe()}")
        settings = _settings()
        print(f"snapshot: state folder {settings.state_dir}")
        ratings = postgres_snapshot(settings.postgres_dsn, cutoff.at)
        folder = settings.state_dir / "airflow" / "snapshots"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = cutoff.at.strftime("%Y%m%dT%H%M%S%f")
        path = folder / f"ratings-{stamp}-{dag_run.run_id.replace(':', '')}.parquet"
        ratings.to_parquet(path, index=False)
        return {"path": str(path), "interval_end": cutoff.at.isoformat(),
                "cutoff_source": cutoff.source, "n_ratings": len(ratings)}

    @task
    def retrain(snap: dict) -> dict:
        """Train, evaluate, log, register; move `champion` only if NDCG@10 improves."""
        import pandas as pd

        from reelstream.params import params_source, resolve_params
        from reelstream.training.data import load_params
        from reelstream.training.run import retrain_once

        if snap["n_ratings"] == 0:
            return {"skipped": "empty snapshot", "promoted": False, "version": None,
                    "reason": f"no ratings before {snap['interval_end']}"}
        ratings = pd.read_parquet(snap["path"])
        params_file = resolve_params()  # REELSTREAM_PARAMS, else the packaged defaults
        print(f"retrain: parameters {params_file} ({params_source()})")
        outcome, _ = retrain_once(ratings, _settings(), snap["interval_end"],
                                  load_params(params_file))
        return {"version": outcome.version, "promoted": outcome.promoted,
                "champion": outcome.champion, "reused": outcome.reused,
                "reason": outcome.reason, "ndcg_at_10": outcome.metrics.get("ndcg_at_10"),
                "cutoff": snap["interval_end"], "n_ratings": snap["n_ratings"]}

    @task
    def announce(outcome: dict) -> int:
        """Tell running workers about a new champion (they also poll, so this is a fast path)."""
        if not outcome.get("promoted") or outcome.get("reused"):
            return 0
        from reelstream.champion_channel import announce_promotion

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


nightly_retrain()
