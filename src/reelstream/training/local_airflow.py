"""A local Airflow for the nightly DAG: scratch home, SQLite metadata DB, our DAGs only.

Used by ``reelstream airflow``, ``reelstream bench retrain`` and the DAG tests. Airflow reads
``AIRFLOW__*`` variables on every ``conf.get``, so :func:`airflow_env` is all the
configuration there is; nothing here imports Airflow at module level (it takes seconds).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = [
    "DAG_ID",
    "repo_dags_folder",
    "airflow_env",
    "init_metadata_db",
    "load_dag",
    "run_dag",
]

DAG_ID = "nightly_retrain"


def repo_dags_folder() -> Path:
    """``airflow/dags`` of the repository (the package is installed editable from it).

    ``REELSTREAM_AIRFLOW_DAGS`` overrides it, e.g. for an installed (non-editable) package.
    """
    explicit = os.environ.get("REELSTREAM_AIRFLOW_DAGS")
    if explicit:
        return Path(explicit)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "airflow" / "dags"
        if (candidate / f"{DAG_ID}.py").is_file():
            return candidate
    return Path.cwd() / "airflow" / "dags"


def airflow_env(home: Path | str, dags_folder: Path | str | None = None) -> dict[str, str]:
    """The variables that make Airflow use ``home`` (SQLite DB inside it) and our DAGs only."""
    home = Path(home).resolve()
    dags = Path(dags_folder).resolve() if dags_folder else repo_dags_folder()
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        # the DAG's imports (pandas, mlflow, scipy) are slow on a busy machine
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300",
    }


def _reconfigure() -> None:
    """Re-read the database/DAG-folder settings (Airflow may have been imported before)."""
    from airflow import settings

    settings.configure_vars()
    settings.reconfigure_orm()


def init_metadata_db() -> None:
    """Create (or upgrade) the metadata DB in-process, as ``airflow db migrate`` does.

    Call after putting :func:`airflow_env` into ``os.environ``.
    """
    _reconfigure()
    from airflow.utils.db import initdb

    initdb()


def load_dag(dags_folder: Path | str | None = None, dag_id: str = DAG_ID) -> Any:
    """Parse the DAG folder and return ``dag_id`` (raises with the import errors if any)."""
    from airflow.models import DagBag

    folder = Path(dags_folder) if dags_folder else repo_dags_folder()
    bag = DagBag(dag_folder=str(folder))  # examples: AIRFLOW__CORE__LOAD_EXAMPLES=False
    if bag.import_errors or dag_id not in bag.dags:
        raise RuntimeError(f"cannot load DAG {dag_id} from {folder}: {bag.import_errors}")
    return bag.dags[dag_id]


def run_dag(logical_date: datetime, *, retries: int | None = None, dag: Any = None) -> Any:
    """``dag.test(logical_date=...)`` in this process; returns the finished DagRun.

    ``retries`` overrides every task's retries (tests use 0: a failure must fail at once
    rather than wait out the retry delay).
    """
    dag = dag if dag is not None else load_dag()
    if retries is not None:
        for task in dag.tasks:
            task.retries = retries
    return dag.test(logical_date=logical_date)
