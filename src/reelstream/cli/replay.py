"""``reelstream replay``: publish MovieLens ratings to Kafka as a time-ordered stream."""

from __future__ import annotations

from pathlib import Path

import typer

from reelstream.cli._common import DatasetOption, LimitOption, NameOption, console, fail

__all__ = ["app", "parse_speed", "load_dataset"]


def parse_speed(text: str) -> float | None:
    """``max`` → None (as fast as possible); a positive number → that compression factor."""
    if text.strip().lower() == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        raise typer.BadParameter("use a positive number or 'max'") from None
    if speed <= 0:
        raise typer.BadParameter("use a positive number or 'max'")
    return speed


def load_dataset(dataset: Path | None, name: str):  # -> reelstream.movielens.MovieLens
    """Load ``dataset`` (a folder), else the configured local copy, else download ``name``.

    Exits with code 2 and the file and line on a malformed dataset.
    """
    from reelstream.movielens import DatasetError, load, resolve_dataset
    from reelstream.settings import get_settings

    try:
        return load(resolve_dataset(name, path=dataset, settings=get_settings()))
    except DatasetError as exc:
        fail(str(exc), code=2)


app = typer.Typer()


@app.command()
def replay(
    dataset: DatasetOption = None,
    name: NameOption = "ml-latest-small",
    speed: str = typer.Option(
        "max", "--speed", help="Compress event time N-fold, or 'max' for no pacing."
    ),
    limit: LimitOption = None,
) -> None:
    """Publish the ratings in timestamp order (acks=all); load the movies into PostgreSQL. Needs Kafka and PostgreSQL; a running worker stores and learns the ratings."""
    from tqdm import tqdm

    from reelstream.replay import ReplayFailed, replay as publish
    from reelstream.replay import InvalidRatings
    from reelstream.settings import get_settings
    from reelstream.store import EventStore

    pace = parse_speed(speed)
    settings = get_settings()
    data = load_dataset(dataset, name)
    ratings_file = data.path / data.layout.ratings_file
    with EventStore(settings.postgres_dsn) as store:
        movies = store.upsert_movies(data.movies)
    console.print(f"movies: {len(data.movies):,} in PostgreSQL ({movies:,} new or changed)")

    total = min(limit, len(data.ratings)) if limit else len(data.ratings)
    try:
        with tqdm(total=total, unit="ev", desc="replay", mininterval=0.5) as bar:
            report = publish(
                settings, data.ratings, speed=pace, limit=limit,
                source=str(ratings_file), on_progress=bar.update,
            )
    except InvalidRatings as exc:
        fail(str(exc), code=2)
    except ReplayFailed as exc:
        fail(str(exc), code=3)
    console.print(
        f"published {report.acknowledged:,} events to '{settings.ratings_topic}' in "
        f"{report.seconds:.1f} s ({report.events_per_s:,.0f} events/s)"
    )
