"""``reelstream import movies|ratings FILE``: your own catalogue and ratings, CSV or Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reelstream.cli._common import console, fail

__all__ = ["app"]

app = typer.Typer(help="Load your own movies (into PostgreSQL) and ratings (into Kafka, "
                  "for the workers to store and learn) from CSV or Parquet files.",
                  no_args_is_help=True)

MapOption = Annotated[list[str], typer.Option(
    "--map", help="FIELD=COLUMN, repeatable or comma-separated: the file's column for a field "
    "(unmapped fields are read from a column of their own name).")]
FileArgument = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                              help="A .csv/.tsv or .parquet file.")]
DelimiterOption = Annotated[str, typer.Option("--delimiter", help="CSV field separator.")]


@app.command("movies")
def movies(file: FileArgument, map_: MapOption = [],  # noqa: B006 - typer reads the default
           delimiter: DelimiterOption = ",",
           genres_separator: Annotated[str, typer.Option(
               "--genres-separator", help="Between two genres in the genres column.")] = "|",
           ) -> None:
    """Add or update movies (movie_id, title; genres and year optional). Needs PostgreSQL."""
    from reelstream.settings import get_settings
    from reelstream.store import EventStore
    from reelstream.table_import import MOVIE_FIELDS, ImportError_, movies_table, parse_mapping
    from reelstream.table_import import read_table

    try:
        table = movies_table(read_table(file, delimiter), parse_mapping(map_, MOVIE_FIELDS),
                             genres_separator, source=str(file))
    except (ImportError_, OSError) as exc:
        fail(str(exc), code=2)
    with EventStore(get_settings().postgres_dsn) as store:
        changed = store.upsert_movies(table)
    console.print(f"movies: {len(table):,} read from {file}, {changed:,} new or changed "
                  "in PostgreSQL")


@app.command("ratings")
def ratings(file: FileArgument, map_: MapOption = [],  # noqa: B006
            delimiter: DelimiterOption = ",",
            time_unit: Annotated[str, typer.Option(
                "--time-unit", help="Timestamps as unix seconds (s), milliseconds (ms) or "
                "ISO 8601 date-times (iso).")] = "s",
            ) -> None:
    """Publish ratings (user_id, movie_id, rating, timestamp) in time order, as the replay
    does. Needs Kafka; a running worker stores and learns them."""
    from reelstream.replay import InvalidRatings, ReplayFailed, replay
    from reelstream.settings import get_settings
    from reelstream.table_import import RATING_FIELDS, ImportError_, parse_mapping, read_table
    from reelstream.table_import import ratings_table

    try:
        table = ratings_table(read_table(file, delimiter), parse_mapping(map_, RATING_FIELDS),
                              time_unit, source=str(file))
    except (ImportError_, OSError) as exc:
        fail(str(exc), code=2)
    settings = get_settings()
    try:
        report = replay(settings, table, source=str(file))
    except InvalidRatings as exc:
        fail(str(exc), code=2)
    except ReplayFailed as exc:
        fail(str(exc), code=3)
    console.print(f"published {report.acknowledged:,} ratings from {file} to "
                  f"'{settings.ratings_topic}' in {report.seconds:.1f} s")
