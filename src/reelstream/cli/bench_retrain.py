"""``reelstream bench retrain``: the nightly DAG on ml-latest-small, training at 25M scale."""

from __future__ import annotations

from pathlib import Path

import typer

from reelstream.cli._common import console, fail

__all__ = ["app"]

DAG_TARGET_S = 60.0
TRAIN_TARGET_S = 15 * 60.0


def _fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds / 60:,.1f} min" if seconds >= 120 else f"{seconds:,.1f} s"


def _verdict(value: float, target: float) -> str:
    return "[green]met[/]" if value <= target else "[red]missed[/]"


app = typer.Typer()


@app.command("retrain")
def retrain(
    dataset: Path | None = typer.Option(None, "--dataset", help="MovieLens folder for (a)."),
    name: str = typer.Option("ml-latest-small", "--name"),
    ratings: int = typer.Option(
        25_000_000, "--ratings", min=100_000,
        help="Size of the generated set for (b); below 25M, two sizes (N/2, N) are "
        "measured and extrapolated to 25M.",
    ),
    dag: bool = typer.Option(True, "--dag/--no-dag", help="(a) the whole DAG."),
    train: bool = typer.Option(True, "--train/--no-train", help="(b) training at scale."),
    evaluate: bool = typer.Option(False, "--evaluate", help="(b) also time the evaluation."),
    seed: int = typer.Option(0),
) -> None:
    """(a) DAG wall time on ml-latest-small; (b) training time and peak memory at 25M. (a) needs the stack up (`reelstream stack up`); (b) nothing running."""
    from rich.table import Table

    from benchmarks.retrain import ML25M, bench_dag, bench_train, extrapolate

    table = Table(title="retrain benchmarks")
    for column in ("figure", "measured", "target", ""):
        table.add_column(column, justify="left" if column == "figure" else "right")

    if dag:
        from reelstream.cli.replay import load_dataset
        from reelstream.settings import get_settings

        data = load_dataset(dataset, name)
        with console.status(f"(a) DAG on {len(data.ratings):,} ratings"):
            try:
                r = bench_dag(get_settings(), data.ratings)
            except Exception as exc:  # noqa: BLE001 - PostgreSQL/Redis down: say so
                fail(f"DAG benchmark failed (is the stack up? `reelstream stack up`): {exc}")
        table.add_row(f"(a) load {r.n_ratings:,} ratings into PostgreSQL", _fmt_s(r.load_s),
                      "", "")
        table.add_row("(a) Airflow import + SQLite metadata DB (once)",
                      _fmt_s(r.airflow_setup_s), "", "")
        table.add_row("(a) parse airflow/dags", _fmt_s(r.parse_s), "", "")
        table.add_row(f"(a) DAG run nightly_retrain ({r.state})", _fmt_s(r.dag_s),
                      f"≤ {DAG_TARGET_S:.0f} s", _verdict(r.dag_s, DAG_TARGET_S))
        for task, seconds in r.tasks.items():
            table.add_row(f"    task {task}", _fmt_s(seconds), "", "")
        if r.outcome:
            table.add_row("    registered", f"v{r.outcome['version']} "
                          f"{','.join(r.outcome['aliases'])} NDCG@10 "
                          f"{float(r.outcome['ndcg_at_10']):.3f}", "", "")

    if train:
        from reelstream.training.data import load_params

        ranker = load_params().ranker  # what the training child fits (the same params file)
        sizes = [ratings] if ratings >= ML25M["ratings"] else [ratings // 2, ratings]
        runs = []
        for n in sizes:
            with console.status(f"(b) generating {n:,} ratings and training"):
                try:
                    runs.append(bench_train(n, seed, None, evaluate))
                except RuntimeError as exc:
                    fail(str(exc))
        for run in runs:
            shape = (f"{run.n_ratings:,} ratings, {run.n_users:,} users × "
                     f"{run.n_movies:,} movies")
            table.add_row(f"(b) {shape}: generate", _fmt_s(run.generate_s), "", "")
            table.add_row("    split (per-user temporal 80/20)", _fmt_s(run.split_s), "", "")
            table.add_row(f"    train (biased MF ALS + {ranker} ranker)",
                          _fmt_s(run.train_s), "", "")
            if run.evaluate_s is not None:
                table.add_row("    evaluate (all unrated movies)", _fmt_s(run.evaluate_s),
                              "", "")
            peak = f"{run.peak_mb:,.0f} MB" + ("" if run.peak_reset else " (incl. generation)")
            table.add_row("    peak memory (VmHWM, data included)", peak, "", "")
            table.add_row("    data held (RSS after generation)", f"{run.data_mb:,.0f} MB",
                          "", "")
        last = runs[-1]
        if len(runs) == 2:
            at = ML25M["ratings"]
            seconds = extrapolate(runs[0], last, at, "pipeline_s")
            peak = extrapolate(runs[0], last, at, "peak_mb")
            table.add_row("(b) split + train at 25M, extrapolated", _fmt_s(seconds),
                          f"≤ {TRAIN_TARGET_S / 60:.0f} min", _verdict(seconds, TRAIN_TARGET_S))
            table.add_row("(b) peak memory at 25M, extrapolated", f"{peak:,.0f} MB", "", "")
            # No fixed cost assumed: the pessimistic bound when the two runs are noisy.
            ratio = at / last.n_ratings
            table.add_row(f"(b) split + train at 25M, × {ratio:.1f} of the larger run",
                          _fmt_s(last.pipeline_s * ratio), f"≤ {TRAIN_TARGET_S / 60:.0f} min",
                          _verdict(last.pipeline_s * ratio, TRAIN_TARGET_S))
        else:
            table.add_row("(b) split + train at 25M", _fmt_s(last.pipeline_s),
                          f"≤ {TRAIN_TARGET_S / 60:.0f} min",
                          _verdict(last.pipeline_s, TRAIN_TARGET_S))
    console.print(table)
