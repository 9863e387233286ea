"""``reelstream retrain --trigger``: a running Airflow retrains now; follow it to the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reelstream.cli._common import console, fail

__all__ = ["trigger_and_follow", "describe_outcome"]


def describe_outcome(outcome: dict[str, Any] | None) -> str:
    """One line for the ``retrain`` task's return value (its XCom)."""
    if not outcome:
        return "the retrain task returned nothing"
    if outcome.get("skipped"):
        return f"nothing registered: {outcome.get('reason') or outcome['skipped']}"
    version, champion = outcome.get("version"), outcome.get("champion")
    if outcome.get("reused"):
        return (f"nothing new registered: {outcome.get('reason')}; "
                f"MLflow version {version}, champion is v{champion}")
    verdict = "promoted to champion" if outcome.get("promoted") else "not promoted"
    return (f"registered MLflow version {version} ({outcome.get('n_ratings', '?')} ratings "
            f"before {outcome.get('cutoff', '?')}): {verdict} — {outcome.get('reason')}; "
            f"champion is v{champion}")


def trigger_and_follow(
    *,
    url: str | None,
    username: str | None,
    password: str | None,
    cutoff: str | None,
    timeout_s: float,
) -> None:
    """Unpause the DAG if needed (as the UI's Trigger dialog does), trigger it without a
    logical date, print each task's state as it changes, then the MLflow version."""
    from reelstream.settings import get_settings
    from reelstream.training.airflow_client import AirflowClient, AirflowError, generated_password
    from reelstream.training.cutoff import parse_cutoff
    from reelstream.training.local_airflow import DAG_ID

    settings = get_settings()
    conf: dict[str, str] = {}
    if cutoff is not None:
        try:
            conf["cutoff"] = parse_cutoff(cutoff).isoformat()
        except ValueError as exc:
            fail(str(exc))
    url = url or settings.airflow_url
    username = username or settings.airflow_username
    try:
        if password is None and settings.airflow_password is not None:
            password = settings.airflow_password.get_secret_value()
        if password is None:
            password = generated_password(Path(settings.state_dir) / "airflow", username)
        with AirflowClient(url, username, password) as client:
            client.login()
            if client.dag(DAG_ID)["is_paused"]:
                client.unpause(DAG_ID)
                console.print(f"unpaused {DAG_ID} (its nightly schedule is on from now)")
            run = client.trigger(DAG_ID, conf)
            run_id = run["dag_run_id"]
            console.print(f"triggered {DAG_ID} run {run_id} at {url}"
                          + (f" with cutoff {conf['cutoff']}" if conf else ""))

            def show(task: str, state: str | None) -> None:
                console.print(f"  {task:<10} {state or 'scheduled'}", highlight=False)

            state = client.follow(DAG_ID, run_id, show, timeout_s=timeout_s)
            if state != "success":
                failed = [t for t, s in client.task_states(DAG_ID, run_id).items()
                          if s not in ("success", "skipped")]
                fail(f"run {run_id} {state} (tasks {', '.join(failed) or '?'}); logs: "
                     f"{url.rstrip('/')}/dags/{DAG_ID}/runs/{run_id}")
            outcome = client.xcom(DAG_ID, run_id, "retrain")
    except AirflowError as exc:
        fail(str(exc))
    console.print(f"[green]run {run_id} succeeded[/]: {describe_outcome(outcome)}",
                  soft_wrap=True)
