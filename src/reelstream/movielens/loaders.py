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

import csv
import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from reelstream.movielens.errors import DatasetError
from reelstream.movielens.titles import split_title

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

RATING_COLUMNS = ["user_id", "movie_id", "rating", "timestamp"]
MOVIE_COLUMNS = ["movie_id", "title", "genres", "year"]

_MAX_ID = 2**31 - 1
_NO_GENRES = "(no genres listed)"
#: ml-100k genre flag order when ``u.genre`` is absent (as published in its README).
ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Layout:
    name: str
    ratings_file: str
    movies_file: str
    sep: str
    encoding: str
    header: tuple[str, ...] | None  # expected header line of the ratings file, if any


LAYOUTS = (
    Layout("csv", "ratings.csv", "movies.csv", ",", "utf-8", ("userId", "movieId", "rating", "timestamp")),
    Layout("ml-100k", "u.data", "u.item", "\t", "latin-1", None),
    Layout("ml-1m", "ratings.dat", "movies.dat", "::", "latin-1", None),
)  # fmt: skip


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
    return MovieLens(folder, layout, _ratings(folder, layout), _movies(folder, layout))


def load_ratings(path: Path | str) -> pd.DataFrame:
    return _ratings(*detect(path))


def load_movies(path: Path | str) -> pd.DataFrame:
    return _movies(*detect(path))


# --- ratings ------------------------------------------------------------------------------


def _ratings(folder: Path, layout: Layout) -> pd.DataFrame:
    file = folder / layout.ratings_file
    if layout.header is not None:
        _check_header(file, layout)
    try:
        frame = _read_fast(file, layout)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise (_scan_ratings(file, layout) or DatasetError(str(exc), file)) from exc
    if _has_invalid_values(frame):
        raise _scan_ratings(file, layout) or DatasetError("invalid rating values", file)
    return pd.DataFrame(
        {
            "user_id": frame["user_id"].to_numpy(np.int32),
            "movie_id": frame["movie_id"].to_numpy(np.int32),
            "rating": frame["rating"].to_numpy(np.float32),
            "timestamp": frame["timestamp"].to_numpy(np.int64),
        }
    )


def _read_fast(file: Path, layout: Layout) -> pd.DataFrame:
    source: Path | io.StringIO = file
    sep, encoding = layout.sep, layout.encoding
    if sep == "::":  # a multi-char separator forces pandas' slow python engine: swap it
        source = io.StringIO(file.read_text(encoding).replace("::", "\x1f"))
        sep = "\x1f"
    return pd.read_csv(
        source,
        sep=sep,
        header=0 if layout.header is not None else None,
        names=RATING_COLUMNS,
        dtype={"user_id": "int64", "movie_id": "int64", "rating": "float64", "timestamp": "int64"},
        encoding=encoding,
        engine="c",
        skip_blank_lines=False,  # a blank line is malformed too (found by the scan)
        quoting=csv.QUOTE_NONE if layout.header is None else csv.QUOTE_MINIMAL,
    )


def _has_invalid_values(frame: pd.DataFrame) -> bool:
    users, movies = frame["user_id"].to_numpy(), frame["movie_id"].to_numpy()
    rating, ts = frame["rating"].to_numpy(), frame["timestamp"].to_numpy()
    bad = (
        (users < 1)
        | (users > _MAX_ID)
        | (movies < 1)
        | (movies > _MAX_ID)
        | ~np.isfinite(rating)
        | (rating < 0.5)
        | (rating > 5.0)
        | (rating * 2 != np.round(rating * 2))
        | (ts < 0)
    )
    return bool(bad.any())


def _check_header(file: Path, layout: Layout) -> None:
    with file.open("r", encoding=layout.encoding, errors="replace", newline="") as f:
        first = f.readline().strip()
    expected = layout.sep.join(layout.header or ())
    if first != expected:
        raise DatasetError(f"expected the header {expected!r}, found {first[:80]!r}", file, 1)


def _id(name: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{name} {text!r} is not an integer") from None
        if not 1 <= value <= _MAX_ID:
            raise ValueError(f"{name} {value} is out of range (1..{_MAX_ID})")
        return value

    return parse


def _rating(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"rating {text!r} is not a number") from None
    if not (math.isfinite(value) and 0.5 <= value <= 5.0 and value * 2 == round(value * 2)):
        raise ValueError(f"rating {text!r} is not in 0.5..5.0 in steps of 0.5")
    return value


def _timestamp(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"timestamp {text!r} is not an integer (epoch seconds)") from None
    if value < 0:
        raise ValueError(f"timestamp {value} is negative")
    return value


_RATING_PARSERS = (_id("user id"), _id("movie id"), _rating, _timestamp)


def _scan_ratings(file: Path, layout: Layout) -> DatasetError | None:
    """Find the first malformed line (slow path, only run after the fast path failed)."""
    try:
        for lineno, fields in _rows(file, layout.sep, layout.encoding, csv_quoting=layout.header is not None):
            if lineno == 1 and layout.header is not None:
                continue
            if len(fields) != len(_RATING_PARSERS):
                return DatasetError(
                    f"expected {len(_RATING_PARSERS)} fields, found {len(fields)}", file, lineno
                )
            for parse, text in zip(_RATING_PARSERS, fields, strict=True):
                try:
                    parse(text.strip())
                except ValueError as exc:
                    return DatasetError(str(exc), file, lineno)
    except DatasetError as exc:
        return exc
    return None


def _rows(
    file: Path, sep: str, encoding: str, *, csv_quoting: bool
) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` of every line; blank lines are malformed too."""
    with file.open("rb") as raw:
        lines = _decoded(raw, file, encoding)
        if csv_quoting:
            reader = csv.reader(lines, delimiter=sep, strict=True)
            try:
                for fields in reader:
                    if not fields:
                        raise DatasetError("empty line", file, reader.line_num)
                    yield reader.line_num, fields
            except csv.Error as exc:
                raise DatasetError(f"malformed CSV ({exc})", file, reader.line_num) from None
        else:
            for lineno, line in enumerate(lines, 1):
                text = line.rstrip("\r\n")
                if not text:
                    raise DatasetError("empty line", file, lineno)
                yield lineno, text.split(sep)


def _decoded(raw: io.BufferedReader, file: Path, encoding: str) -> Iterator[str]:
    for lineno, line in enumerate(raw, 1):
        try:
            yield line.decode(encoding)
        except UnicodeDecodeError as exc:
            raise DatasetError(f"not valid {encoding} text ({exc.reason})", file, lineno) from None


# --- movies -------------------------------------------------------------------------------


def _movies(folder: Path, layout: Layout) -> pd.DataFrame:
    file = folder / layout.movies_file
    if layout.name == "csv":
        rows = _movies_csv(file)
    elif layout.name == "ml-100k":
        rows = _movies_100k(file, _genre_names(folder / "u.genre"))
    else:
        rows = _movies_dat(file)
    ids, titles, genres, years = [], [], [], []
    seen: dict[int, int] = {}
    for lineno, movie_id, raw_title, genre_list, fallback_year in rows:
        if movie_id in seen:
            raise DatasetError(f"movie id {movie_id} already on line {seen[movie_id]}", file, lineno)
        seen[movie_id] = lineno
        title, year = split_title(raw_title)
        ids.append(movie_id)
        titles.append(title)
        genres.append(genre_list)
        years.append(year if year is not None else fallback_year)
    return pd.DataFrame(
        {
            "movie_id": np.asarray(ids, dtype=np.int32),
            "title": pd.Series(titles, dtype=object),
            "genres": pd.Series(genres, dtype=object),
            "year": pd.array(years, dtype="Int64"),
        },
        columns=MOVIE_COLUMNS,
    )


_MovieRow = tuple[int, int, str, list[str], int | None]


def _movie_id(file: Path, lineno: int, text: str) -> int:
    try:
        return _id("movie id")(text.strip())
    except ValueError as exc:
        raise DatasetError(str(exc), file, lineno) from None


def _split_genres(text: str) -> list[str]:
    text = text.strip()
    if not text or text == _NO_GENRES:
        return []
    return [g for g in text.split("|") if g]


def _movies_csv(file: Path) -> Iterator[_MovieRow]:
    for lineno, fields in _rows(file, ",", "utf-8", csv_quoting=True):
        if lineno == 1:
            if [f.strip() for f in fields] != ["movieId", "title", "genres"]:
                raise DatasetError(
                    f"expected the header 'movieId,title,genres', found {','.join(fields)[:80]!r}",
                    file,
                    1,
                )
            continue
        if len(fields) != 3:
            raise DatasetError(f"expected 3 fields, found {len(fields)}", file, lineno)
        yield lineno, _movie_id(file, lineno, fields[0]), fields[1], _split_genres(fields[2]), None


def _movies_dat(file: Path) -> Iterator[_MovieRow]:
    for lineno, fields in _rows(file, "::", "latin-1", csv_quoting=False):
        if len(fields) != 3:
            raise DatasetError(f"expected 3 '::'-separated fields, found {len(fields)}", file, lineno)
        yield lineno, _movie_id(file, lineno, fields[0]), fields[1], _split_genres(fields[2]), None


def _genre_names(file: Path) -> tuple[str, ...]:
    """ml-100k genre names by flag index, from ``u.genre`` (``name|index``) when present."""
    if not file.is_file():
        return ML100K_GENRES
    names: dict[int, str] = {}
    with file.open("rb") as raw:
        for lineno, line in enumerate(_decoded(raw, file, "latin-1"), 1):
            text = line.strip()
            if not text:
                continue  # u.genre ends with blank lines
            name, sep, index = text.rpartition("|")
            if not sep or not index.isdigit():
                raise DatasetError("expected 'name|index'", file, lineno)
            names[int(index)] = name
    if sorted(names) != list(range(len(names))):
        raise DatasetError("genre indices are not 0..n-1", file)
    return tuple(names[i] for i in range(len(names)))


def _movies_100k(file: Path, genre_names: tuple[str, ...]) -> Iterator[_MovieRow]:
    n_fields = 5 + len(genre_names)
    for lineno, fields in _rows(file, "|", "latin-1", csv_quoting=False):
        if len(fields) != n_fields:
            raise DatasetError(f"expected {n_fields} '|'-separated fields, found {len(fields)}", file, lineno)
        flags = fields[5:]
        if any(flag not in ("0", "1") for flag in flags):
            raise DatasetError("genre flags must be 0 or 1", file, lineno)
        genres = [g for g, flag in zip(genre_names, flags, strict=True) if flag == "1" and g != "unknown"]
        release = fields[2].strip()  # "01-Jan-1995": used when the title has no year
        year = int(release[-4:]) if len(release) >= 4 and release[-4:].isdigit() else None
        yield lineno, _movie_id(file, lineno, fields[0]), fields[1], genres, year
