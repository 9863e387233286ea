"""A private Airflow for the DAG tests: its own AIRFLOW_HOME, SQLite metadata DB, our DAGs only.

Airflow reads ``AIRFLOW__*`` variables on every ``conf.get``, so setting them (and re-pointing
the ORM, in case something imported Airflow earlier in the session) is enough; the metadata
DB is created once per session straight from the ORM models (``initdb``), which is what
``airflow db migrate`` does for an empty database, without the CLI start-up.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "airflow" / "dags"


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point Airflow at a scratch home (config only; see ``airflow_db`` for the database)."""
    from reelstream.training.local_airflow import airflow_env

    home = tmp_path_factory.mktemp("airflow_home")
    env = airflow_env(home, DAGS)
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield home
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def airflow_db(airflow_home: Path) -> Path:
    """``airflow_home`` with its SQLite metadata DB created (once per session)."""
    from reelstream.training.local_airflow import init_metadata_db

    init_metadata_db()
    return airflow_home
