"""The movies file of any layout: titles split from their year, genres as lists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from reelstream.movielens.errors import DatasetError
from reelstream.movielens.layouts import MOVIE_COLUMNS, Layout
from reelstream.movielens.lines import decoded, parse_id, rows
from reelstream.movielens.titles import split_title

__all__ = ["read_movies", "ML100K_GENRES"]

_NO_GENRES = "(no genres listed)"
#: ml-100k genre flag order when ``u.genre`` is absent (as published in its README).
ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip


def read_movies(folder: Path, layout: Layout) -> pd.DataFrame:
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
        return parse_id("movie id")(text.strip())
    except ValueError as exc:
        raise DatasetError(str(exc), file, lineno) from None


def _split_genres(text: str) -> list[str]:
    text = text.strip()
    if not text or text == _NO_GENRES:
        return []
    return [g for g in text.split("|") if g]


def _movies_csv(file: Path) -> Iterator[_MovieRow]:
    for lineno, fields in rows(file, ",", "utf-8", csv_quoting=True):
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
    for lineno, fields in rows(file, "::", "latin-1", csv_quoting=False):
        if len(fields) != 3:
            raise DatasetError(f"expected 3 '::'-separated fields, found {len(fields)}", file, lineno)
        yield lineno, _movie_id(file, lineno, fields[0]), fields[1], _split_genres(fields[2]), None


def _genre_names(file: Path) -> tuple[str, ...]:
    """ml-100k genre names by flag index, from ``u.genre`` (``name|index``) when present."""
    if not file.is_file():
        return ML100K_GENRES
    names: dict[int, str] = {}
    with file.open("rb") as raw:
        for lineno, line in enumerate(decoded(raw, file, "latin-1"), 1):
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
    for lineno, fields in rows(file, "|", "latin-1", csv_quoting=False):
        if len(fields) != n_fields:
            raise DatasetError(f"expected {n_fields} '|'-separated fields, found {len(fields)}", file, lineno)
        flags = fields[5:]
        if any(flag not in ("0", "1") for flag in flags):
            raise DatasetError("genre flags must be 0 or 1", file, lineno)
        genres = [g for g, flag in zip(genre_names, flags, strict=True) if flag == "1" and g != "unknown"]
        release = fields[2].strip()  # "01-Jan-1995": used when the title has no year
        year = int(release[-4:]) if len(release) >= 4 and release[-4:].isdigit() else None
        yield lineno, _movie_id(file, lineno, fields[0]), fields[1], genres, year
