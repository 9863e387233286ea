"""``reelstream airflow``: the commands it runs and the environment it gives them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reelstream.cli import app
from reelstream.processes import free_port
from reelstream.settings import get_settings

DAGS = Path(__file__).resolve().parents[2] / "airflow" / "dags"


@pytest.fixture
def calls(monkeypatch, tmp_path):
    """Record the subprocesses instead of running Airflow; settings from REELSTREAM_* vars."""
    recorded: list[tuple[list[str], dict[str, str]]] = []

    def fake_run(args, env=None, check=False):
        recorded.append((list(args), dict(env)))
        return subprocess.CompletedProcess(args, 0)

    def fake_execve(path, args, env):
        recorded.append((list(args), dict(env)))
        assert path == args[0]

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(os, "execve", fake_execve)
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
        ["db", "migrate"],
        ["dags", "test", "nightly_retrain", "2024-06-01T00:00:00+00:00"],
    ]
    env = calls[1][1]
    # the project's own airflow, found beside the interpreter (no activated venv needed)
    assert calls[0][0][0] == str(Path(sys.executable).parent / "airflow")
    home = (tmp_path / "state" / "airflow").resolve()
    assert env["AIRFLOW_HOME"] == str(home) and home.is_dir()
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(DAGS)
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{home}/airflow.db"
    # the DAG's tasks see this shell's settings
    assert env["REELSTREAM_POSTGRES_DSN"] == "postgresql://u@db.example:5432/x"
    assert env["REELSTREAM_STATE_DIR"] == str((tmp_path / "state").resolve())


def test_airflow_standalone_follows_the_port_and_finds_airflow_without_path(calls,
                                                                            monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # a plain shell: no venv on PATH
    port = free_port()
    result = CliRunner().invoke(app, ["airflow", "standalone", "--port", str(port)])
    assert result.exit_code == 0, result.output
    assert [args[1:] for args, _ in calls] == [["standalone"]]  # it migrates by itself
    env = calls[0][1]
    assert env["AIRFLOW__API__PORT"] == str(port)
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
        f"http://127.0.0.1:{port}/execution/")
    # standalone starts `airflow scheduler` etc. by name: ours comes first on PATH
    bin_dir = str(Path(sys.executable).parent)
    assert env["PATH"].split(":")[0] == bin_dir and env["PATH"].endswith("/usr/bin:/bin")


def test_airflow_standalone_refuses_a_busy_port_before_starting_anything(calls):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(app, ["airflow", "standalone", "--port", str(port)])
    assert result.exit_code != 0
    assert f"port {port}" in result.output and "already in use" in result.output
    assert calls == []  # no migration, no half-started Airflow


def test_airflow_env_exports_what_plain_airflow_needs(calls):
    result = CliRunner().invoke(app, ["airflow", "env", "--port", "18123"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "export AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://127.0.0.1:18123/execution/" \
        in lines
    assert "export AIRFLOW__API__PORT=18123" in lines
    assert f'export PATH="{Path(sys.executable).parent}:$PATH"' in lines
    assert any(line.startswith("export AIRFLOW_HOME=") for line in lines)


def test_bad_date_is_a_clear_error(calls):
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
