"""The movie catalogue: upserted from MovieLens, read by id."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from reelstream.store._base import StoreBase
from reelstream.store.records import Movie

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MovieTable", "CREATE_MOVIES_STAGING"]

CREATE_MOVIES_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS _movies_in (
    movie_id int4, title text, genres text[], year int2
) ON COMMIT DELETE ROWS
"""
_UPSERT_MOVIES = """
INSERT INTO movies (movie_id, title, genres, year)
SELECT movie_id, title, genres, year FROM _movies_in
ON CONFLICT (movie_id) DO UPDATE
   SET title = EXCLUDED.title, genres = EXCLUDED.genres, year = EXCLUDED.year
 WHERE (movies.title, movies.genres, movies.year)
       IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.genres, EXCLUDED.year)
"""



class MovieTable(StoreBase):
    def upsert_movies(self, movies: Iterable[Movie] | pd.DataFrame) -> int:
        """Insert or update movies; return how many rows were inserted or changed.

        Accepts :class:`Movie` records or a DataFrame with columns movie_id, title, genres
        (list of str), year (int or missing) as returned by :mod:`reelstream.movielens`.
        """
        records = _movie_rows(movies)
        with self._conn.transaction():
            with self._conn.cursor() as cur:
                cur.execute("TRUNCATE _movies_in")
                with cur.copy("COPY _movies_in (movie_id, title, genres, year) FROM STDIN") as cp:
                    for row in records:
                        cp.write_row(row)
                cur.execute(_UPSERT_MOVIES)
                return cur.rowcount

    def get_movies(self, movie_ids: Iterable[int]) -> dict[int, Movie]:
        ids = sorted(set(movie_ids))
        if not ids:
            return {}
        rows = self._conn.execute(
            "SELECT movie_id, title, genres, year FROM movies WHERE movie_id = ANY(%s::int4[])",
            (ids,),
        ).fetchall()
        return {r[0]: Movie(r[0], r[1], tuple(r[2] or ()), r[3]) for r in rows}

    def get_movie(self, movie_id: int) -> Movie | None:
        return self.get_movies([movie_id]).get(movie_id)

    def count_movies(self) -> int:
        return int(self._scalar("SELECT count(*) FROM movies"))


def _movie_rows(
    movies: Iterable[Movie] | pd.DataFrame,
) -> Iterator[tuple[int, str, list[str], int | None]]:
    if hasattr(movies, "itertuples"):
        frame: Any = movies
        for movie_id, title, genres, year in frame[["movie_id", "title", "genres", "year"]].itertuples(
            index=False, name=None
        ):
            yield int(movie_id), str(title), list(genres or ()), _opt_int(year)
    else:
        for m in movies:  # type: ignore[union-attr]
            yield int(m.movie_id), m.title, list(m.genres), _opt_int(m.year)


def _opt_int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return int(value)
