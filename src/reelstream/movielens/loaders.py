"""Loaders for the standard MovieLens layouts, chosen from what the folder contains.

=============  ===============================  ===========================================
layout         files                            format
=============  ===============================  ===========================================
``csv``        ``ratings.csv`` + ``movies.csv``  UTF-8 CSV with a header (ml-latest-small,
                                                ml-latest, ml-20m, ml-25m)
``ml-100k``    ``u.data`` + ``u.item``          tab-separated ratings; latin-1 ``|``-separated
                                                movies with 19 genre flags (``u.genre``)
``ml-1m``      ``ratings.dat`` + ``movies.dat``  latin-1, ``::``-separated (ml-1m, ml-10m)
=============  ===============================  ===========================================

Every loader returns the same shapes:

* ratings: DataFrame ``user_id`` (int32), ``movie_id`` (int32), ``rating`` (float32, 0.5..5.0
  in half steps), ``timestamp`` (int64, **epoch seconds, UTC** — as in the files; convert with
  ``pd.to_datetime(df.timestamp, unit="s", utc=True)``), in file order;
* movies: DataFrame ``movie_id`` (int32), ``title`` (str, the year removed), ``genres``
  (list of str, ``[]`` when none), ``year`` (nullable Int64), in file order.

Malformed input raises :class:`DatasetError` naming the file and the 1-based line; nothing is
skipped silently. Ratings take a fast pandas path and, only when that fails or a value is out
of range, a line-by-line scan that finds the first bad line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from reelstream.movielens.errors import DatasetError
from reelstream.movielens.layouts import LAYOUTS, MOVIE_COLUMNS, RATING_COLUMNS, Layout
from reelstream.movielens.movie_files import read_movies
from reelstream.movielens.rating_files import read_ratings

__all__ = [
    "Layout",
    "LAYOUTS",
    "MovieLens",
    "RATING_COLUMNS",
    "MOVIE_COLUMNS",
    "detect",
    "load",
    "load_ratings",
    "load_movies",
]

@dataclass(frozen=True)
class MovieLens:
    """A loaded dataset: where it came from, its layout, ratings and movies."""

    path: Path
    layout: Layout
    ratings: pd.DataFrame
    movies: pd.DataFrame


def detect(path: Path | str) -> tuple[Path, Layout]:
    """The folder holding the dataset files (``path`` or its only matching sub-folder) and
    its layout; :class:`DatasetError` when no known layout is there."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DatasetError("no such folder", folder)
    candidates = [folder, *sorted(p for p in folder.iterdir() if p.is_dir())]
    for candidate in candidates:
        for layout in LAYOUTS:
            if (candidate / layout.ratings_file).is_file() and (
                candidate / layout.movies_file
            ).is_file():
                return candidate, layout
    expected = ", ".join(f"{lay.ratings_file} + {lay.movies_file}" for lay in LAYOUTS)
    raise DatasetError(f"no MovieLens dataset found (expected {expected})", folder)


def load(path: Path | str) -> MovieLens:
    folder, layout = detect(path)
    return MovieLens(folder, layout, read_ratings(folder, layout), read_movies(folder, layout))


def load_ratings(path: Path | str) -> pd.DataFrame:
    return read_ratings(*detect(path))


def load_movies(path: Path | str) -> pd.DataFrame:
    return read_movies(*detect(path))
