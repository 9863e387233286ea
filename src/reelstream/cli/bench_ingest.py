"""``reelstream bench ingest``."""

from __future__ import annotations

import typer

from reelstream.cli._common import DatasetOption, LimitOption, NameOption, console

__all__ = ["app"]


app = typer.Typer()


@app.command("ingest")
def ingest(
    dataset: DatasetOption = None,
    name: NameOption = "ml-latest-small",
    limit: LimitOption = None,
) -> None:
    """Producer and sink events/s beside the raw broker produce/consume rates."""
    from rich.table import Table

    from benchmarks.ingest import bench_ingest
    from reelstream.cli.replay import load_dataset
    from reelstream.settings import get_settings

    settings = get_settings()
    data = load_dataset(dataset, name)
    rates = bench_ingest(settings, data.ratings, limit)
    raw_produce, raw_consume = rates[0].per_s, rates[1].per_s
    table = Table(title=f"ingest: {rates[0].events:,} MovieLens events, {settings.kafka_bootstrap_servers}")
    for column in ("stage", "events", "seconds", "events/s", "ratio to raw"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for i, rate in enumerate(rates):
        raw = raw_produce if i in (0, 2) else raw_consume
        table.add_row(rate.stage, f"{rate.events:,}", f"{rate.seconds:.2f}",
                      f"{rate.per_s:,.0f}", f"{rate.per_s / raw:.2f}" if raw else "-")
    console.print(table)
