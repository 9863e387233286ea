"""The nightly DAG parses cleanly and has the promised shape."""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "airflow" / "dags"


@pytest.fixture(scope="module")
def dagbag(airflow_home):
    airflow_models = pytest.importorskip("airflow.models")
    return airflow_models.DagBag(dag_folder=str(DAGS))


def test_dagbag_has_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "nightly_retrain" in dagbag.dag_ids


def test_dag_shape(dagbag):
    dag = dagbag.dags["nightly_retrain"]
    assert dag.catchup is False
    assert {t.task_id for t in dag.tasks} == {"snapshot", "retrain", "announce"}
    assert all(t.retries >= 1 for t in dag.tasks)
    assert dag.get_task("retrain").upstream_task_ids == {"snapshot"}


def test_dag_file_has_no_heavy_top_level_imports():
    source = (DAGS / "nightly_retrain.py").read_text()
    top = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert not any(name in line for line in top for name in ("pandas", "mlflow", "numpy",
                                                            "reelstream"))
