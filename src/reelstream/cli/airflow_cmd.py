"""``reelstream airflow test|standalone|env``: the nightly DAG on a local Airflow.

``AIRFLOW_HOME`` is ``<state_dir>/airflow`` (git-ignored), the DAG folder is the repository's
``airflow/dags``, example DAGs are off and the metadata DB is SQLite in that home; it is
migrated (``airflow db migrate``, idempotent) before each command. The DAG's tasks get the
``REELSTREAM_*`` settings of this shell, so they use the same PostgreSQL, MLflow and Redis as
``reelstream worker``/``retrain``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import typer

from reelstream.cli._common import console, fail

__all__ = ["app", "airflow_environment", "airflow_command"]


def airflow_environment(settings=None) -> dict[str, str]:  # noqa: ANN001 - Settings, lazily
    """``os.environ`` + the local Airflow's variables + these settings as ``REELSTREAM_*``."""
    from reelstream.settings import get_settings
    from reelstream.training.local_airflow import airflow_env

    settings = settings or get_settings()
    state_dir = Path(settings.state_dir).resolve()
    home = state_dir / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    # Absolute state_dir: Airflow's processes need not share our working directory.
    reelstream = {**settings.to_env(), "REELSTREAM_STATE_DIR": str(state_dir)}
    return {**os.environ, **reelstream, **airflow_env(home)}


def airflow_command(*args: str) -> list[str]:
    """``airflow ARGS`` with this interpreter (the venv's Airflow, whatever is on PATH)."""
    return [sys.executable, "-m", "airflow", *args]


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    console.print(f"[dim]$ airflow {' '.join(args[3:])}[/]")
    try:
        code = subprocess.run(args, env=env, check=False).returncode
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    if code != 0:
        fail(f"{what} failed (exit {code})", code)


def _migrate(env: dict[str, str]) -> None:
    _run(airflow_command("db", "migrate"), env, "airflow db migrate")


def _logical_date(value: str | None) -> str:
    """ISO date/datetime for ``airflow dags test``; default today 00:00 UTC (last boundary)."""
    if value is None:
        return datetime.now(UTC).date().isoformat()
    if value == "now":
        return datetime.now(UTC).isoformat(timespec="seconds")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--date {value!r} is not an ISO date or datetime (e.g. 2024-06-01)")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.isoformat()


app = typer.Typer(help="Run the nightly retraining DAG on a local Airflow.", no_args_is_help=True)


@app.command("test")
def test(
    date: str | None = typer.Option(
        None, "--date", help="Logical date = data interval end: ratings before it are "
        "trained on (ISO date/datetime, or 'now'). Default: today 00:00 UTC. The same "
        "date twice trains once.",
    ),
) -> None:
    """Migrate the metadata DB, then run the DAG once (`airflow dags test nightly_retrain`)."""
    from reelstream.training.local_airflow import DAG_ID

    env = airflow_environment()
    console.print(f"AIRFLOW_HOME={env['AIRFLOW_HOME']}")
    _migrate(env)
    _run(airflow_command("dags", "test", DAG_ID, _logical_date(date)), env,
         f"DAG {DAG_ID}")
    console.print("[green]DAG run finished[/]: `reelstream models list` shows the versions")


@app.command("standalone")
def standalone(
    port: int = typer.Option(8080, help="Port of the Airflow UI/API server."),
) -> None:
    """Migrate, then start `airflow standalone` (UI, scheduler, DAG processor; Ctrl-C stops)."""
    env = airflow_environment()
    env["AIRFLOW__API__PORT"] = str(port)
    home = Path(env["AIRFLOW_HOME"])
    console.print(
        f"AIRFLOW_HOME={home}\nUI: http://localhost:{port} — user `admin`, password in "
        f"{home / 'simple_auth_manager_passwords.json.generated'} (written on first start)"
    )
    _migrate(env)
    _run(airflow_command("standalone"), env, "airflow standalone")


@app.command("env")
def env() -> None:
    """Print `export` lines to use the same local Airflow from this shell."""
    from reelstream.training.local_airflow import airflow_env

    environment = airflow_environment()
    for key in airflow_env(environment["AIRFLOW_HOME"]):
        console.print(f"export {key}={environment[key]}", highlight=False, soft_wrap=True)
