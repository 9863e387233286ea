"""``reelstream retrain`` and ``reelstream models list|promote|rollback``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from reelstream.cli._common import console, fail

__all__ = ["app", "models_app"]


def _announce(version: str) -> None:
    """Best effort: running workers also poll the registry, so Redis being down is fine."""
    from reelstream.settings import get_settings
    from reelstream.champion_channel import announce_promotion

    try:
        reached = announce_promotion(get_settings(), version)
        console.print(f"announced champion v{version} to {reached} worker(s)")
    except Exception as exc:  # noqa: BLE001
        console.print(f"[yellow]could not announce the promotion ({exc}); workers will poll[/]")


app = typer.Typer()  # reelstream retrain


@app.command("retrain")
def retrain(
    dataset: Path | None = typer.Option(
        None, help="MovieLens folder or processed file; default: PostgreSQL snapshot."
    ),
    cutoff: str | None = typer.Option(
        None, "--cutoff", help="Train on ratings before this date-time (UTC if naive). "
        "PostgreSQL: snapshot up to it (default: now); the run's identity (the data interval "
        "end): the same cut-off is trained once. With --trigger: passed to the DAG run "
        "(default there: everything stored when triggered).",
    ),
    interval_end: datetime | None = typer.Option(None, "--interval-end", hidden=True),
    trigger: bool = typer.Option(
        False, "--trigger", help="Ask a running Airflow to run the nightly_retrain DAG "
        "now (as its Trigger button does), follow it and print the registered version.",
    ),
    airflow_url: str | None = typer.Option(
        None, help="With --trigger: the Airflow API (default REELSTREAM_AIRFLOW_URL)."
    ),
    airflow_user: str | None = typer.Option(None, help="With --trigger: Airflow user."),
    airflow_password: str | None = typer.Option(
        None, help="With --trigger: password (default REELSTREAM_AIRFLOW_PASSWORD, else "
        "the simple auth manager's generated file in <state_dir>/airflow).",
    ),
    timeout: float = typer.Option(1800.0, help="With --trigger: longest wait (seconds)."),
) -> None:
    """Run the batch pipeline once: snapshot, split, train, evaluate, log, register, promote.
    Needs PostgreSQL (unless --dataset) and MLflow; Redis to announce a promotion.

    With --trigger the run happens in a running Airflow instead (the same DAG, its logs
    and retries), and this command follows it to the end.
    """
    if trigger:
        if dataset is not None:
            fail("--trigger runs the DAG on PostgreSQL: no --dataset")
        from reelstream.cli.retrain_trigger import trigger_and_follow

        if cutoff is None and interval_end is not None:
            cutoff = interval_end.isoformat()
        trigger_and_follow(url=airflow_url, username=airflow_user, password=airflow_password,
                           cutoff=cutoff, timeout_s=timeout)
        return
    if cutoff is not None:
        try:
            interval_end = datetime.fromisoformat(cutoff.replace("Z", "+00:00"))
        except ValueError:
            fail(f"--cutoff {cutoff!r} is not an ISO 8601 date-time")
    from reelstream.cli.evaluate_batch import metrics_table
    from reelstream.settings import get_settings
    from reelstream.training.data import load_params, movielens_snapshot, postgres_snapshot
    from reelstream.training.pipeline import describe_snapshot
    from reelstream.training.run import retrain_once

    settings = get_settings()
    batch_params = load_params()
    try:
        if dataset is not None:
            ratings = movielens_snapshot(dataset)
            end = interval_end or datetime.fromisoformat(describe_snapshot(ratings).end)
        else:
            end = interval_end or datetime.now(UTC)
            ratings = postgres_snapshot(settings.postgres_dsn, end)
    except Exception as exc:  # noqa: BLE001 - one clear message for any source failure
        fail(f"cannot read the ratings snapshot: {exc}")
    if ratings.empty:
        fail("the snapshot is empty: nothing to train on")
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    with console.status(f"retraining on {len(ratings):,} ratings"):
        outcome, result = retrain_once(ratings, settings, end.isoformat(), batch_params)
    if result is not None:
        rows = {"ours": {**result.metrics, "train_s": result.train_seconds}}
        rows.update(result.baselines)
        console.print(metrics_table(rows, f"retrain, interval end {end.isoformat()}"))
    verdict = "[green]promoted to champion[/]" if outcome.promoted else "not promoted"
    if outcome.reused:
        state = "promoted" if outcome.promoted else "not promoted"
        verdict = f"already trained for this interval ({state})"
    console.print(
        f"version {outcome.version} ({settings.registered_model_name}): {verdict} — "
        f"{outcome.reason}; champion is v{outcome.champion}"
    )
    if outcome.promoted and not outcome.reused:
        _announce(outcome.version)


models_app = typer.Typer(
    help="Manage registered batch models and the champion alias.", no_args_is_help=True
)


@models_app.command("list")
def list_() -> None:
    """Every registered version with its aliases and gate metrics. Needs MLflow."""
    from rich.table import Table

    from reelstream.settings import get_settings
    from reelstream.training.registry import list_versions

    rows = list_versions(get_settings())
    table = Table(title=get_settings().registered_model_name)
    for column in ("version", "aliases", "NDCG@10", "RMSE", "data interval end", "created"):
        table.add_column(column)
    for row in rows:
        created = datetime.fromtimestamp(row["created"] / 1000, UTC).isoformat(timespec="seconds")
        table.add_row(row["version"], ", ".join(row["aliases"]), row["ndcg_at_10"] or "",
                      row["rmse"] or "", row["data_interval_end"] or "", created)
    console.print(table)


@models_app.command("promote")
def promote_(version: str = typer.Argument(..., help="Registered version to serve.")) -> None:
    """Point the champion alias at VERSION by hand (the old one becomes previous-champion). Needs MLflow; Redis to tell the workers."""
    from mlflow.exceptions import MlflowException

    from reelstream.settings import get_settings
    from reelstream.training.registry import promote

    try:
        promote(version, get_settings(), reason="manual (reelstream models promote)")
    except MlflowException as exc:
        fail(f"cannot promote version {version}: {exc.message}")
    console.print(f"champion → v{version}")
    _announce(version)


@models_app.command("rollback")
def rollback_() -> None:
    """Put the previous champion back. Needs MLflow; Redis to tell the workers."""
    from reelstream.settings import get_settings
    from reelstream.training.registry import rollback

    try:
        version = rollback(get_settings())
    except LookupError as exc:
        fail(str(exc))
    console.print(f"champion → v{version} (rolled back)")
    _announce(version)
