"""``reelstream data fetch|synth``: get a MovieLens dataset (downloaded and verified, or
local), or generate a MovieLens-shaped one."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from reelstream.cli._common import console, fail, require_benchmarks

__all__ = ["app"]


class DatasetName(str, Enum):
    ml_latest_small = "ml-latest-small"
    ml_25m = "ml-25m"
    ml_100k = "ml-100k"
    ml_1m = "ml-1m"


app = typer.Typer(help="MovieLens datasets: fetch, check and generate.", no_args_is_help=True)


@app.command("fetch")
def fetch_cmd(
    name: DatasetName = typer.Argument(..., help="Which MovieLens dataset."),
    path: Path | None = typer.Option(
        None, "--path", help="Use this local copy (a folder) instead of downloading."
    ),
    dest: Path | None = typer.Option(
        None, "--dest", help="Download into this folder (default: DATA_DIR/raw)."
    ),
    base_url: str | None = typer.Option(
        None, "--base-url", help="Mirror to download from (default: GroupLens)."
    ),
    force: bool = typer.Option(False, "--force", help="Download again even if present."),
) -> None:
    """Download NAME from GroupLens (MD5 verified) and unzip it; print its folder."""
    from reelstream.movielens import BASE_URL, DatasetError, fetch, load
    from reelstream.settings import get_settings

    settings = get_settings()
    try:
        local = path if path is not None else settings.movielens_path
        if local is not None:
            folder, source = Path(local), "local copy"
        else:
            target = dest if dest is not None else settings.data_dir / "raw"
            folder = fetch(name.value, target, base_url=base_url or BASE_URL, force=force)
            source = "verified download"
        data_set = load(folder)  # parsed fully: a malformed file fails here, with its line
        folder = data_set.path
    except DatasetError as exc:
        fail(str(exc))
    console.print(
        f"{name.value}: {len(data_set.ratings):,} ratings, {len(data_set.movies):,} movies "
        f"({data_set.layout.name} layout, {source}) at [bold]{folder}[/]"
    )


@app.command("synth")
def synth_cmd(
    ratings: int = typer.Option(1_000_000, "--ratings", min=1, help="Events to keep (the first, in time order)."),
    catalogue: str = typer.Option("25m", "--catalogue", help="Size of the generated whole set: 25m | 20m | 1m | small."),
    out: Path = typer.Option(..., "--out", help="Folder to write ratings.csv and movies.csv into."),
    seed: int = typer.Option(3, "--seed"),
) -> None:
    """Write a MovieLens-shaped folder: the first N events of a generated CATALOGUE-sized set."""
    require_benchmarks()
    from benchmarks.synth import CATALOGUES, synth_ratings, write_movielens

    if catalogue not in CATALOGUES:
        fail(f"unknown catalogue {catalogue!r}; one of {', '.join(CATALOGUES)}")
    try:
        with console.status(f"generating a {catalogue} set, keeping {ratings:,} events"):
            made = write_movielens(synth_ratings(ratings, catalogue, seed), out)
    except ValueError as exc:
        fail(str(exc))
    console.print(
        f"{made.ratings:,} ratings by {made.users:,} users of {made.movies:,} movies "
        f"(ids up to {made.max_movie_id:,}) at [bold]{made.path}[/]"
    )
