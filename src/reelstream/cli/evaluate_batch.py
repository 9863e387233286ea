"""``reelstream evaluate batch``: the batch model vs baselines on a per-user temporal split."""

from __future__ import annotations

from pathlib import Path

import typer

from reelstream.cli._common import console, fail

__all__ = ["app", "metrics_table"]

COLUMNS = (
    ("RMSE", "rmse"),
    ("NDCG@10", "ndcg_at_10"),
    ("Recall@10", "recall_at_10"),
    ("Precision@10", "precision_at_10"),
    ("Coverage", "coverage"),
)


def metrics_table(rows: dict[str, dict[str, float]], title: str):  # -> rich.table.Table
    """One row per model; ``train_s`` shown when present."""
    from rich.table import Table

    table = Table(title=title, min_width=100)
    table.add_column("model")
    for label, _ in COLUMNS:  # header width: keep labels short
        table.add_column(label, justify="right")
    table.add_column("train s", justify="right")
    for name, metrics in rows.items():
        cells = [f"{metrics[key]:.4f}" if key in metrics else "—" for _, key in COLUMNS]
        train = metrics.get("train_s")
        table.add_row(name, *cells, f"{train:.1f}" if train is not None else "—")
    return table


app = typer.Typer()


@app.command("batch")
def batch(
    dataset: Path | None = typer.Option(
        None, help="MovieLens folder (default: REELSTREAM_MOVIELENS_PATH or params.yaml)."
    ),
    extra: bool = typer.Option(
        True, help="Also run implicit ALS (library defaults) and the MF score alone."
    ),
    protocol: bool = typer.Option(
        True, help="Also compare ours with EASE, RP3beta, ItemKNN, iALS and popularity, each "
        "tuned on validation, under the protocol of docs/evaluation.md."
    ),
    tune_ours: bool = typer.Option(
        False, help="Choose our ranker's weights on validation too (a small grid)."
    ),
) -> None:
    """Train on each user's first 80% of ratings (by time), score on the last 20%. Needs nothing running (reads the files)."""
    from dataclasses import replace

    from reelstream.training.data import load_params, movielens_snapshot, resolve_dataset
    from reelstream.training.pipeline import train_and_evaluate

    path = resolve_dataset(dataset)
    try:
        ratings = movielens_snapshot(path)
        batch_params = load_params()
    except (OSError, ValueError) as exc:
        fail(f"cannot load {path}: {exc}")
    with console.status(f"training on {len(ratings):,} ratings"):
        result = train_and_evaluate(ratings, batch_params)
    rows = {f"ours ({batch_params.ranker})":
            {**result.metrics, "train_s": result.train_seconds}}
    rows.update(result.baselines)
    if extra:
        with console.status("baselines"):
            for name, variant in (
                ("MF score only", replace(batch_params, popularity_weight=0.0, ranker="mf")),
                ("iALS defaults", replace(
                    batch_params, ranker="implicit_als", popularity_weight=0.0,
                    implicit_factors=100, implicit_reg=0.01, implicit_alpha=1.0,
                    implicit_iterations=15, implicit_recency_halflife=0.0)),
            ):
                other = train_and_evaluate(ratings, variant, baselines=False)
                rows[name] = {**other.metrics, "train_s": other.train_seconds}
    snap = result.snapshot
    console.print(metrics_table(
        rows,
        f"{snap.n_ratings:,} ratings, {snap.n_users:,} users, {snap.n_movies:,} movies "
        f"({path}); per-user last {batch_params.test_fraction:.0%} held out",
    ))
    console.print(f"relevant = held-out rating ≥ {batch_params.relevance_threshold}; "
                  f"ranked over all movies the user has not rated in training.")
    if protocol:
        from reelstream.cli.evaluate_protocol import print_protocol_comparison

        print_protocol_comparison(ratings, path, batch_params, tune_ours)
