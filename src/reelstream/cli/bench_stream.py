"""``reelstream bench stream``."""

from __future__ import annotations

import typer

from reelstream.cli._common import DatasetOption, LimitOption, NameOption, console

__all__ = ["app"]


app = typer.Typer()


@app.command("stream")
def stream(
    dataset: DatasetOption = None,
    name: NameOption = "ml-latest-small",
    limit: LimitOption = None,
    challenger: bool = typer.Option(
        True, help="Run a shadow challenger (the online model with another seed) in the worker."
    ),
) -> None:
    """Worker end-to-end events/s vs a raw Faust consumer; ready time, memory, top-N; the
    cost per event of live evaluation and of the shadow challenger. Needs Kafka, PostgreSQL
    and Redis (`reelstream stack up`)."""
    from rich.table import Table

    from benchmarks.stream import BENCH_CHALLENGER, bench_stream
    from reelstream.cli.replay import load_dataset
    from reelstream.demo import log_dir
    from reelstream.settings import get_settings

    settings = get_settings()
    data = load_dataset(dataset, name)
    r = bench_stream(
        settings, data.ratings, log_dir(settings), limit, BENCH_CHALLENGER if challenger else None
    )
    table = Table(title=f"stream: {r.events:,} events, one worker, {settings.kafka_bootstrap_servers}")
    for column in ("figure", "measured", "target"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    table.add_row("worker end-to-end (store + learn + Redis)", f"{r.worker_per_s:,.0f} ev/s", "≥ 6,000 ev/s")
    table.add_row("raw Faust consume (same topic)", f"{r.raw_per_s:,.0f} ev/s", "")
    table.add_row("ratio worker / raw", f"{r.ratio:.2f}", "≥ 0.8 (small), ≥ 0.5 (1M)")
    table.add_row(
        "raw Faust, the worker's consumer settings",
        f"{r.raw_worker_consumer_per_s:,.0f} ev/s",
        "",
    )
    table.add_row("ratio worker / that", f"{r.ratio_same_consumer:.2f}", "")
    if r.lists_written is not None:
        table.add_row("lists written per event", f"{r.lists_written / r.events:.2f}", "")
    learner = f"River ({settings.live_eval and 'live evaluation on' or 'live evaluation off'})"
    table.add_row("online learner", learner, "")
    for role, seconds in sorted((r.live_seconds or {}).items()):
        what = "live evaluation (champion)" if role == "champion" else (
            f"shadow challenger {r.challenger} (learn + score + lists)")
        table.add_row(f"cost per event: {what}", f"{seconds / r.events * 1e6:,.1f} µs", "")
    table.add_row(f"top-N over {r.movies:,} movies", f"{r.topn_us:,.0f} µs", "≤ 100 µs (10k)")
    table.add_row("worker ready after start", f"{r.worker_ready_s:.1f} s", "≤ 5 s")
    table.add_row(
        "worker peak memory (VmHWM, all its processes)",
        f"{r.peak_rss_mb:,.0f} MB ({r.processor_peak_rss_mb:,.0f} processor and refits)",
        "",
    )
    table.add_row("events stored exactly once", f"{r.stored:,} / {r.events:,}", "all")
    console.print(table)
