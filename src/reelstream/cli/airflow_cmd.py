"""``reelstream airflow test|standalone|env``: the nightly DAG on a local Airflow.

``AIRFLOW_HOME`` is ``<state_dir>/airflow`` (git-ignored), the DAG folder is the repository's
``airflow/dags``, example DAGs are off and the metadata DB is SQLite in that home; it is
migrated (``airflow db migrate``, idempotent) before each command (``standalone`` does it
itself). The DAG's tasks get the
``REELSTREAM_*`` settings of this shell, so they use the same PostgreSQL, MLflow and Redis as
``reelstream worker``/``retrain``. The ``airflow`` executable is the one beside this
interpreter, so no virtualenv needs to be activated.
"""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import typer

from reelstream.cli._common import console, fail

__all__ = ["app", "airflow_environment", "airflow_command"]

PASSWORD_FILE = "simple_auth_manager_passwords.json.generated"


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
    """``airflow ARGS`` with the project's own ``airflow`` (beside this interpreter)."""
    from reelstream.training.local_airflow import airflow_executable

    try:
        return [str(airflow_executable()), *args]
    except FileNotFoundError as exc:
        fail(str(exc))


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    console.print(f"[dim]$ airflow {' '.join(args[1:])}[/]")
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


def _server_environment(port: int, host: str) -> dict[str, str]:
    from reelstream.training.local_airflow import server_env

    try:
        return {**airflow_environment(), **server_env(port, host)}
    except FileNotFoundError as exc:
        fail(str(exc))


app = typer.Typer(help="Run the nightly retraining DAG on a local Airflow.", no_args_is_help=True)

@app.command("test")
def test(
    cutoff: str | None = typer.Option(
        None, "--cutoff", help="Cut-off: ratings before it are trained on; the run's logical "
        "date = data interval end (ISO date/datetime, or 'now'). Default: today 00:00 UTC. "
        "The same cut-off twice trains once.",
    ),
    date: str | None = typer.Option(None, "--date", hidden=True),  # the old spelling
) -> None:
    """Migrate the metadata DB, then run the DAG once (`airflow dags test nightly_retrain`).
    Needs PostgreSQL (the ratings) and MLflow; Redis for announcing a promotion."""
    date = cutoff or date
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
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0: all)."),
) -> None:
    """Start `airflow standalone`: API/UI, scheduler, DAG processor, triggerer; Ctrl-C stops. Needs PostgreSQL, Redis and MLflow for the DAG's runs."""
    from reelstream.training.local_airflow import port_in_use

    if port_in_use(port, host):
        fail(f"port {port} on {host} is already in use; pick a free one with --port "
             "(then `reelstream retrain --trigger --airflow-url` must name it too)")
    env = _server_environment(port, host)
    home = Path(env["AIRFLOW_HOME"])
    console.print(
        f"AIRFLOW_HOME={home}\nUI: http://{'localhost' if host == '0.0.0.0' else host}:"
        f"{port} — user `admin`, password in {home / PASSWORD_FILE} (written on first start)"
    )
    args = airflow_command("standalone")  # it migrates the metadata DB itself
    console.print(f"[dim]$ airflow {' '.join(args[1:])}[/]")
    # Become `airflow standalone`: a signal to this process (Ctrl-C, SIGTERM from a
    # supervisor) reaches Airflow itself, which stops its components, leaving no orphans.
    os.execve(args[0], args, env)


@app.command("env")
def env(
    port: int = typer.Option(8080, help="Port of the API server `airflow` will run or call."),
    host: str = typer.Option("127.0.0.1", help="Address of that API server."),
) -> None:
    """Print `export` lines to use the same local Airflow from this shell. Needs nothing running."""
    from reelstream.training.local_airflow import airflow_env

    environment = _server_environment(port, host)
    keys = [*airflow_env(environment["AIRFLOW_HOME"]), "AIRFLOW__API__PORT",
            "AIRFLOW__API__HOST", "AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
    for key in keys:
        console.print(f"export {key}={environment[key]}", highlight=False, soft_wrap=True)
    bin_dir = Path(airflow_command()[0]).parent
    console.print(f'export PATH="{bin_dir}:$PATH"', highlight=False, soft_wrap=True)
