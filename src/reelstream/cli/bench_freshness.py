"""``reelstream bench freshness``: POST a rating -> first GET of recommendations that includes it."""

from __future__ import annotations

import typer

from reelstream.cli._common import DatasetOption, NameOption, console, fail

__all__ = ["app"]


app = typer.Typer()


@app.command("freshness")
def freshness(
    dataset: DatasetOption = None,
    name: NameOption = "ml-latest-small",
    preload: int = typer.Option(20_000, min=100, help="Oldest ratings pre-loaded as history."),
    rate: float = typer.Option(200.0, min=1, max=2000, help="Background POST /ratings per second."),
    duration: float = typer.Option(20.0, min=1, max=300, help="Seconds of load per batching window."),
    max_posts: int = typer.Option(20_000, min=10, help="Cap on posts per window."),
    sample_every: int = typer.Option(10, min=1, help="Every N-th post is a freshness sample."),
    poll_ms: float = typer.Option(2.0, min=0.5, max=100, help="Poll interval of a sample (ms)."),
    batch_within: list[float] = typer.Option(
        [], "--batch-within",
        help="Worker batching window(s) in seconds to measure, side by side (repeatable; "
        "default: the configured REELSTREAM_WORKER_BATCH_WITHIN_S).",
    ),
    fetch_max_wait_ms: list[int] = typer.Option(
        [], "--fetch-max-wait-ms",
        help="Worker fetch wait(s) in ms to measure, side by side (repeatable; default: the "
        "configured REELSTREAM_KAFKA_FETCH_MAX_WAIT_MS).",
    ),
) -> None:
    """Freshness while ratings are posted at a fixed rate: p50/p95/p99 beside the targets. Needs the stack up (`reelstream stack up`)."""
    from rich.table import Table

    from benchmarks.freshness import FreshnessConfig, run_freshness_bench
    from reelstream.cli.replay import load_dataset
    from reelstream.demo import log_dir
    from reelstream.settings import get_settings

    if any(w <= 0 for w in batch_within):
        fail("--batch-within must be > 0")
    if any(ms < 1 for ms in fetch_max_wait_ms):
        fail("--fetch-max-wait-ms must be >= 1")
    settings = get_settings()
    data = load_dataset(dataset, name)
    config = FreshnessConfig(
        preload=min(preload, len(data.ratings)), rate=rate, duration_s=duration,
        max_posts=max_posts, sample_every=sample_every, poll_interval_s=poll_ms / 1000,
        batch_within_s=tuple(batch_within) or (None,),
        fetch_max_wait_ms=tuple(fetch_max_wait_ms) or (None,),
    )
    try:
        results = run_freshness_bench(
            settings, data.ratings, data.movies, config, log_dir(settings), log=console.print
        )
    except Exception as exc:
        fail(f"bench freshness: {exc} (is the stack up? `reelstream stack up`)")

    table = Table(
        title=f"freshness (ms): POST /ratings -> first GET /users/{{id}}/recommendations "
        f"with it; {rate:g} posts/s, poll {poll_ms:g} ms"
    )
    for column in ("window", "fetch wait", "posted", "failed", "samples", "missed", "p50", "p95", "p99", "POST p99"):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            f"{r.batch_within_s * 1000:g} ms",
            f"{r.fetch_max_wait_ms} ms",
            f"{r.posted:,}", str(r.failed_posts),
            str(r.samples), str(r.missed),
            f"{r.pct(50):.1f}", f"{r.pct(95):.1f}", f"{r.pct(99):.1f}", f"{r.post_pct(99):.1f}",
        )
    console.print(table)
    p50_target, p99_target = freshness_targets(rate)
    for r in results:
        verdicts = [f"p50 {r.pct(50):.1f} ms" + _against(r.pct(50), p50_target),
                    f"p99 {r.pct(99):.1f} ms" + _against(r.pct(99), p99_target)]
        console.print(
            f"window {r.batch_within_s * 1000:g} ms, fetch wait {r.fetch_max_wait_ms} ms: "
            + ", ".join(verdicts) + f" over {r.samples} samples"
            + (f"; {r.missed} samples not seen within the timeout" if r.missed else "")
        )


def freshness_targets(rate: float) -> tuple[float | None, float]:
    """The (p50, p99) targets in ms at ``rate`` posts/s: up to 200/s p50 25 and p99 50; above
    it, up to 1,000/s and beyond, p99 100 (no p50 target).

    >>> freshness_targets(200), freshness_targets(1000)
    ((25.0, 50.0), (None, 100.0))
    """
    return (25.0, 50.0) if rate <= 200 else (None, 100.0)


def _against(value: float, target: float | None) -> str:
    if target is None:
        return ""
    return f" (target <= {target:g}: {'met' if value <= target else 'MISSED'})"
