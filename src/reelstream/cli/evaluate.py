"""``reelstream evaluate stream``: prequential evaluation of the online model vs baselines."""

from __future__ import annotations

from pathlib import Path

import typer

from reelstream.cli._common import console, fail

__all__ = ["app"]


app = typer.Typer()


@app.command("stream")
def stream(
    dataset: Path = typer.Option(..., help="MovieLens folder (e.g. ml-latest-small)."),
    limit: int | None = typer.Option(None, min=1, help="Use only the first K events."),
    params: Path = typer.Option(Path("params.yaml"), help="File with the online: section."),
    k: int = typer.Option(10, min=1, help="HR@k cut-off."),
) -> None:
    """Test-then-learn over DATASET in timestamp order: ours vs River BiasedMF vs popularity."""
    from rich.table import Table

    from reelstream.evaluation.stream import default_models, prequential, read_ratings

    try:
        events = read_ratings(dataset, limit)
    except (OSError, ValueError) as exc:
        fail(f"cannot read {dataset}: {exc}")
    models = default_models(params)
    with console.status(f"prequential run over {len(events):,} events") as status:
        results = prequential(
            models, events, k=k, progress=lambda n: status.update(f"{n:,} events")
        )
    table = Table(title=f"Prequential evaluation, {len(events):,} events of {dataset}")
    for column in ("model", "version", "RMSE", "MAE", f"HR@{k}", "HR events", "events/s"):
        table.add_column(column, justify="left" if column in ("model", "version") else "right")
    for name, res in results.items():
        table.add_row(
            name,
            models[name].version,
            f"{res.rmse:.4f}",
            f"{res.mae:.4f}",
            f"{res.hit_rate:.4f}",
            f"{res.n_hr:,}",
            f"{res.events_per_s:,.0f}",
        )
    console.print(table)
    console.print(
        "events/s include predict_one, the top-k of every HR event and learn_one."
    )
