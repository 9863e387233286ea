"""The nightly DAG run end to end in-process (``dag.test``) on the embedded stack.

PostgreSQL holds a time-ordered slice of ml-latest-small; MLflow is a ``sqlite:///`` store (the
registry works without a server); Airflow has a scratch home with a SQLite metadata DB. The
DAG reads its configuration only from ``REELSTREAM_*`` variables, as in production.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from reelstream.movielens import load_ratings
from reelstream.replay import events_in_time_order
from reelstream.store import EventStore

pytestmark = [pytest.mark.slow, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
SLICE = 20_000
#: The first run's data interval end. The DAG starts on 2024-01-01 (earlier logical dates
#: run no task), so the slice is moved in time to straddle it: the last quarter of the
#: ratings comes after DAY1 and must not be in that run's snapshot.
DAY1 = datetime(2024, 6, 1, tzinfo=UTC)


@pytest.fixture
def dag_settings(isolated, movielens_small, tmp_path, monkeypatch):
    """The isolated stack + a sqlite MLflow store, exported as REELSTREAM_* variables."""
    settings = isolated.model_copy(
        update={
            "mlflow_tracking_uri": f"sqlite:///{tmp_path}/mlflow.db",
            "state_dir": tmp_path / "state",
            "mlflow_experiment": "dag-test",
            "registered_model_name": "dag-test-mf",
        }
    )
    for key, value in settings.to_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("REELSTREAM_PARAMS", raising=False)
    events = list(events_in_time_order(load_ratings(movielens_small), limit=SLICE))
    shift = DAY1 - events[SLICE * 3 // 4].timestamp
    events = [e.model_copy(update={"timestamp": e.timestamp + shift}) for e in events]
    with EventStore(settings.postgres_dsn) as store:
        assert len(store.insert_ratings(events)) == SLICE
    return settings, events


def test_dag_registers_promotes_is_idempotent_and_gates(dag_settings, airflow_db, tmp_path,
                                                        monkeypatch):
    import mlflow
    from mlflow import MlflowClient

    from reelstream.training.local_airflow import load_dag, run_dag

    settings, events = dag_settings
    day2 = (events[-1].timestamp + timedelta(days=2)).replace(hour=0, minute=0, second=0)
    name = settings.registered_model_name
    client = MlflowClient(settings.mlflow_tracking_uri, settings.mlflow_tracking_uri)
    dag = load_dag()
    before_day1 = sum(e.timestamp < DAY1 for e in events)
    assert 0 < before_day1 < SLICE

    # 1. First run: a version is registered with its metrics and becomes champion.
    run = run_dag(DAY1, retries=0, dag=dag)
    assert run.state == "success", [(ti.task_id, ti.state) for ti in run.get_task_instances()]
    versions = client.search_model_versions(f"name='{name}'")
    assert [str(v.version) for v in versions] == ["1"]
    assert str(client.get_model_version_by_alias(name, "champion").version) == "1"
    first = client.get_run(versions[0].run_id)
    for metric in ("rmse", "ndcg_at_10", "recall_at_10", "precision_at_10", "coverage",
                   "popularity_ndcg_at_10", "train_seconds"):
        assert metric in first.data.metrics, metric
    assert int(first.data.params["snapshot_n_ratings"]) == before_day1  # only < interval end
    assert first.data.params["snapshot_end"] < DAY1.isoformat()
    assert first.data.tags["data_interval_end"] == DAY1.isoformat()
    info = mlflow.models.get_model_info(f"models:/{name}/1")
    assert info.signature is not None
    assert [c.name for c in info.signature.inputs.inputs] == ["user_id", "movie_id"]

    # 2. The same interval again: the DAG succeeds and registers/promotes nothing new.
    again = run_dag(DAY1, retries=0, dag=dag)
    assert again.state == "success"
    assert again.run_id != run.run_id  # really a second DAG run, not the first one reported
    assert [str(v.version) for v in client.search_model_versions(f"name='{name}'")] == ["1"]
    assert str(client.get_model_version_by_alias(name, "champion").version) == "1"
    experiment = client.get_experiment_by_name(settings.mlflow_experiment)
    runs = client.search_runs([experiment.experiment_id],
                              f"tags.data_interval_end = '{DAY1.isoformat()}'")
    assert len(runs) == 1

    # 3. A worse model (rating-only ranker, no popularity) is registered but not promoted.
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["batch"].update(ranker="mf", popularity_weight=0.0)
    bad = tmp_path / "bad-params.yaml"
    bad.write_text(yaml.safe_dump(params))
    monkeypatch.setenv("REELSTREAM_PARAMS", str(bad))
    worse = run_dag(day2, retries=0, dag=dag)
    assert worse.state == "success"
    versions = {str(v.version): v for v in client.search_model_versions(f"name='{name}'")}
    assert set(versions) == {"1", "2"}
    assert str(client.get_model_version_by_alias(name, "champion").version) == "1"
    assert float(versions["2"].tags["ndcg_at_10"]) < float(versions["1"].tags["ndcg_at_10"])
    second = client.get_run(versions["2"].run_id)
    assert second.data.tags["promoted"] == "false"
    assert second.data.params["ranker"] == "mf"
    assert int(second.data.params["snapshot_n_ratings"]) == SLICE


def test_manual_runs_take_everything_up_to_run_after_or_the_conf_cutoff(dag_settings, airflow_db):
    """Runs without a data interval, as the UI's Trigger button makes them."""
    from mlflow import MlflowClient

    from reelstream.training.local_airflow import load_dag, run_dag

    settings, events = dag_settings
    name = settings.registered_model_name
    client = MlflowClient(settings.mlflow_tracking_uri, settings.mlflow_tracking_uri)
    dag = load_dag()
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)  # later runs: still past

    # 1. No logical date: the cut-off is run_after, so every stored rating is trained on.
    run = run_dag(None, run_after=now, retries=0, dag=dag)
    assert run.logical_date is None and run.data_interval_end is None
    assert run.state == "success", [(ti.task_id, ti.state) for ti in run.get_task_instances()]
    versions = client.search_model_versions(f"name='{name}'")
    assert [str(v.version) for v in versions] == ["1"]
    first = client.get_run(versions[0].run_id)
    assert int(first.data.params["snapshot_n_ratings"]) == SLICE
    assert first.data.tags["data_interval_end"] == now.isoformat()

    # 2. Triggered again with no new ratings: succeeds, registers nothing new.
    again = run_dag(None, run_after=now + timedelta(minutes=5), retries=0, dag=dag)
    assert again.state == "success" and again.run_id != run.run_id
    assert [str(v.version) for v in client.search_model_versions(f"name='{name}'")] == ["1"]
    experiment = client.get_experiment_by_name(settings.mlflow_experiment)
    assert len(client.search_runs([experiment.experiment_id])) == 1

    # 3. An explicit cut-off in the run's conf: only the ratings before it.
    cut = run_dag(None, run_after=now + timedelta(minutes=10), retries=0, dag=dag,
                  conf={"cutoff": DAY1.isoformat().replace("+00:00", "Z")})
    assert cut.state == "success"
    versions = {str(v.version): v for v in client.search_model_versions(f"name='{name}'")}
    assert set(versions) == {"1", "2"}
    assert int(client.get_run(versions["2"].run_id).data.params["snapshot_n_ratings"]) == sum(
        e.timestamp < DAY1 for e in events)

    # 4. A bad conf fails the run at once, although the tasks have retries left.
    with_retries = load_dag()
    for task in with_retries.tasks:
        task.retry_delay = timedelta(seconds=1)  # a retry would show as try_number 2
    assert with_retries.get_task("snapshot").retries == 2
    bad = run_dag(None, run_after=now + timedelta(minutes=15), dag=with_retries,
                  conf={"cutoff": "not-a-date"})
    assert bad.state == "failed"
    snapshot = next(ti for ti in bad.get_task_instances() if ti.task_id == "snapshot")
    assert snapshot.state == "failed" and snapshot.try_number == 1
