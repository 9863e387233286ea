"""``reelstream airflow``: the commands it runs and the environment it gives them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reelstream.cli import app
from reelstream.settings import get_settings

DAGS = Path(__file__).resolve().parents[2] / "airflow" / "dags"


@pytest.fixture
def calls(monkeypatch, tmp_path):
    """Record the subprocesses instead of running Airflow; settings from REELSTREAM_* vars."""
    recorded: list[tuple[list[str], dict[str, str]]] = []

    def fake_run(args, env=None, check=False):
        recorded.append((list(args), dict(env)))
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setenv("REELSTREAM_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("REELSTREAM_POSTGRES_DSN", "postgresql://u@db.example:5432/x")
    monkeypatch.delenv("AIRFLOW_HOME", raising=False)
    get_settings.cache_clear()
    yield recorded
    get_settings.cache_clear()


def test_airflow_test_migrates_then_runs_the_dag_once(calls, tmp_path):
    result = CliRunner().invoke(app, ["airflow", "test", "--date", "2024-06-01"])
    assert result.exit_code == 0, result.output
    assert [args[1:] for args, _ in calls] == [
        ["-m", "airflow", "db", "migrate"],
        ["-m", "airflow", "dags", "test", "nightly_retrain", "2024-06-01T00:00:00+00:00"],
    ]
    env = calls[1][1]
    assert calls[0][0][0] == sys.executable
    home = (tmp_path / "state" / "airflow").resolve()
    assert env["AIRFLOW_HOME"] == str(home) and home.is_dir()
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(DAGS)
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{home}/airflow.db"
    # the DAG's tasks see this shell's settings
    assert env["REELSTREAM_POSTGRES_DSN"] == "postgresql://u@db.example:5432/x"
    assert env["REELSTREAM_STATE_DIR"] == str((tmp_path / "state").resolve())


def test_airflow_standalone_and_failures(calls):
    result = CliRunner().invoke(app, ["airflow", "standalone", "--port", "8099"])
    assert result.exit_code == 0, result.output
    assert [args[3:] for args, _ in calls] == [["db", "migrate"], ["standalone"]]
    assert calls[1][1]["AIRFLOW__API__PORT"] == "8099"

    bad = CliRunner().invoke(app, ["airflow", "test", "--date", "yesterday"])
    assert bad.exit_code != 0 and "not an ISO date" in bad.output


def test_airflow_migration_failure_stops_before_the_dag(calls, monkeypatch):
    def failing(args, env=None, check=False):
        calls.append((list(args), dict(env)))
        return subprocess.CompletedProcess(args, 3)

    monkeypatch.setattr(subprocess, "run", failing)
    result = CliRunner().invoke(app, ["airflow", "test"])
    assert result.exit_code == 3
    assert len(calls) == 1 and "airflow db migrate failed" in result.output
