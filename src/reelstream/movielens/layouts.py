"""The MovieLens file layouts and the columns every loader returns."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Layout", "LAYOUTS", "RATING_COLUMNS", "MOVIE_COLUMNS"]

RATING_COLUMNS = ["user_id", "movie_id", "rating", "timestamp"]
MOVIE_COLUMNS = ["movie_id", "title", "genres", "year"]



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
