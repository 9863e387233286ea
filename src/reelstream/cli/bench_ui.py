"""``reelstream bench ui``: the web app in Chromium — page interactive after load, and rating →
refreshed list visible, p50/p95."""

from __future__ import annotations

from pathlib import Path

import typer

from reelstream.cli._common import console, fail

__all__ = ["app"]


app = typer.Typer()


@app.command("ui")
def ui(
    dataset: Path | None = typer.Option(None, "--dataset", help="MovieLens folder."),
    name: str = typer.Option("ml-latest-small", "--name"),
    ratings: int = typer.Option(20, min=2, max=200, help="Ratings clicked in the browser."),
    loads: int = typer.Option(5, min=1, max=50, help="Fresh page loads timed."),
) -> None:
    """Needs the stack up (`reelstream stack up`) and Chromium (`apt-get install chromium`)."""
    import numpy as np
    from rich.table import Table

    from benchmarks.ui import run_ui_bench
    from reelstream.cli.replay import load_dataset
    from reelstream.demo import log_dir
    from reelstream.settings import get_settings

    settings = get_settings()
    data = load_dataset(dataset, name)
    try:
        result = run_ui_bench(settings, Path(data.path), log_dir(settings), ratings=ratings,
                              loads=loads, log=console.print)
    except Exception as exc:  # noqa: BLE001
        fail(f"bench ui: {exc} (is the stack up? `reelstream stack up`)")

    def pct(values: list[float], q: float) -> float:
        return float(np.percentile(values, q))

    table = Table(title="web app in Chromium (Playwright), For you page")
    for column in ("figure", "n", "p50", "p95", "max", "target"):
        table.add_column(column, justify="right")
    rows = [
        ("page interactive after load (s)", result.interactive_s, "p95 <= 2 s"),
        ("rating -> new list visible (ms)", result.visible_ms, "p95 <= 1000 ms"),
        ("rating -> new list read, shown on the page (ms)", result.shown_ms, "(the API's part)"),
    ]
    for label, values, target in rows:
        table.add_row(label, str(len(values)), f"{pct(values, 50):.2f}", f"{pct(values, 95):.2f}",
                      f"{max(values):.2f}", target)
    console.print(table)
    ok_load = pct(result.interactive_s, 95) <= 2.0
    ok_visible = pct(result.visible_ms, 95) <= 1000.0
    console.print(
        f"interactive p95 {pct(result.interactive_s, 95):.2f} s ({'met' if ok_load else 'MISSED'}); "
        f"visible refresh p95 {pct(result.visible_ms, 95):.0f} ms ({'met' if ok_visible else 'MISSED'}); "
        f"{result.unchanged} of {len(result.visible_ms)} ratings left the table unchanged"
    )
