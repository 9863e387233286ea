"""``reelstream sink``: store rating events in PostgreSQL without learning (backfills)."""

from __future__ import annotations

import typer

from reelstream.cli._common import console

__all__ = ["app"]


app = typer.Typer()


@app.command()
def sink(
    idle_timeout: float | None = typer.Option(
        None, "--idle-timeout", help="Stop after this many seconds without a message."
    ),
    group_id: str = typer.Option(
        "reelstream-sink", "--group", help="Consumer group (not the worker's)."
    ),
) -> None:
    """Consume the ratings topic into PostgreSQL only (no model, no cache). Needs Kafka and PostgreSQL."""
    from reelstream.settings import get_settings
    from reelstream.sink import run_sink

    settings = get_settings().model_copy(update={"consumer_group": group_id})
    report = run_sink(settings, idle_timeout_s=idle_timeout)
    console.print(
        f"consumed {report.consumed:,}, stored {report.stored:,} new, "
        f"{report.dead_letters:,} dead letters ({report.events_per_s:,.0f} events/s)"
    )
