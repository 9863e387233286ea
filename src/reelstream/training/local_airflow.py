"""A local Airflow for the nightly DAG: scratch home, SQLite metadata DB, our DAGs only.

Used by ``reelstream airflow``, ``reelstream bench retrain`` and the DAG tests. Airflow reads
``AIRFLOW__*`` variables on every ``conf.get``, so :func:`airflow_env` is all the
configuration there is; nothing here imports Airflow at module level (it takes seconds).
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = [
    "DAG_ID",
    "repo_dags_folder",
    "airflow_env",
    "airflow_executable",
    "server_env",
    "port_in_use",
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


def airflow_executable() -> Path:
    """The ``airflow`` script installed beside this interpreter (the project's own Airflow).

    Found without ``PATH``, so ``.venv/bin/reelstream airflow ...`` works from any shell;
    falls back to ``airflow`` on ``PATH`` for an interpreter without one beside it.
    """
    beside = Path(sys.executable).parent / "airflow"
    if beside.is_file():
        return beside
    found = shutil.which("airflow")
    if found:
        return Path(found)
    raise FileNotFoundError(
        f"no `airflow` executable beside {sys.executable} or on PATH; "
        "install the project's airflow extra (pip install -e '.[airflow]')"
    )


def server_env(port: int, host: str = "127.0.0.1") -> dict[str, str]:
    """What must follow the API server's address: its port and host, the URL tasks call back
    on (the execution API), and ``PATH`` starting with our ``airflow``'s folder, because
    ``airflow standalone`` starts its components as ``airflow ...`` by name."""
    reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "localhost", "127.0.0.1") else host
    bin_dir = str(airflow_executable().parent)
    path = os.environ.get("PATH", "")
    return {
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__HOST": host,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{reachable}:{port}/execution/",
        "PATH": os.pathsep.join([bin_dir, path]) if path else bin_dir,
    }


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when ``host:port`` cannot be bound (another server listens there)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # as servers do: a port left in TIME_WAIT by a stopped server is free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


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


def run_dag(
    logical_date: datetime | None,
    *,
    run_after: datetime | None = None,
    conf: dict[str, Any] | None = None,
    retries: int | None = None,
    dag: Any = None,
) -> Any:
    """``dag.test(...)`` in this process; returns the finished DagRun.

    ``logical_date=None`` makes a run without a data interval, as the UI's Trigger button
    does (its cut-off is ``run_after``, default now). ``retries`` overrides every task's
    retries (tests use 0: a failure must fail at once rather than wait out the retry delay).
    """
    dag = dag if dag is not None else load_dag()
    if retries is not None:
        for task in dag.tasks:
            task.retries = retries
    return dag.test(logical_date=logical_date, run_after=run_after, run_conf=conf)
