"""MovieLens-shaped rating sets written as a MovieLens folder (``reelstream data synth``).

The ratings come from :func:`benchmarks.retrain.movielens_shaped`, generated at the
size of a whole catalogue (e.g. all of MovieLens 25M) and then cut to the first ``n`` events
in time order: so a 1M-event set has the users, the movie ids and the long tail a 25M
catalogue has after its first million ratings, not a 1M-sized catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.retrain import movielens_shaped

__all__ = ["CATALOGUES", "SynthSet", "synth_ratings", "write_movielens"]

#: Catalogue sizes a set can be drawn from: the number of ratings of the whole set (25m as
#: MovieLens 25M, 25,000,095, rounded).
CATALOGUES = {"25m": 25_000_000, "20m": 20_000_263, "1m": 1_000_209, "small": 100_836}

_GENRES = ("Action", "Adventure", "Comedy", "Drama", "Romance", "Thriller", "Sci-Fi", "Horror")


@dataclass(frozen=True)
class SynthSet:
    path: Path
    ratings: int
    users: int
    movies: int
    max_movie_id: int


def synth_ratings(n_ratings: int, catalogue: str = "25m", seed: int = 3) -> pd.DataFrame:
    """The first ``n_ratings`` events, in time order, of a ``catalogue``-sized generated set,
    as :func:`reelstream.movielens.load_ratings` returns them (``timestamp`` in seconds)."""
    total = CATALOGUES[catalogue]
    if n_ratings > total:
        raise ValueError(f"{n_ratings:,} ratings is more than the {catalogue} catalogue's {total:,}")
    full = movielens_shaped(total, seed=seed)
    seconds = full["rated_at"].dt.as_unit("s").astype("int64")  # whatever the unit held
    order = np.argsort(seconds.to_numpy(), kind="stable")[:n_ratings]
    return pd.DataFrame({
        "user_id": full["user_id"].to_numpy()[order],
        "movie_id": full["movie_id"].to_numpy()[order],
        "rating": full["rating"].to_numpy()[order],
        "timestamp": seconds.to_numpy()[order],
    })


def write_movielens(ratings: pd.DataFrame, out: Path | str) -> SynthSet:
    """``ratings.csv`` + ``movies.csv`` (the ml-latest layout) in ``out``; one made-up title
    per movie id up to the largest rated one."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frame = ratings[["user_id", "movie_id", "rating", "timestamp"]].rename(
        columns={"user_id": "userId", "movie_id": "movieId"}
    )
    frame.to_csv(out / "ratings.csv", index=False, float_format="%.1f")
    max_id = int(ratings["movie_id"].max())
    ids = np.arange(1, max_id + 1)
    years = 1930 + ids % 90
    movies = pd.DataFrame({
        "movieId": ids,
        "title": [f"Synthetic Movie {i} ({y})" for i, y in zip(ids.tolist(), years.tolist(), strict=True)],
        "genres": [_GENRES[i % len(_GENRES)] for i in ids.tolist()],
    })
    movies.to_csv(out / "movies.csv", index=False)
    return SynthSet(
        out, len(ratings), int(ratings["user_id"].nunique()), int(ratings["movie_id"].nunique()), max_id
    )
