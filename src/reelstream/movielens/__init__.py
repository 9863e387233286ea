"""MovieLens: load the standard layouts (auto-detected) and fetch them from GroupLens.

>>> from reelstream.movielens import load
>>> data = load("../shared/movielens/ml-latest-small")      # doctest: +SKIP
>>> data.ratings.columns.tolist()                           # doctest: +SKIP
['user_id', 'movie_id', 'rating', 'timestamp']

``timestamp`` is int64 epoch seconds (UTC); see :mod:`reelstream.movielens.loaders`.
"""

from reelstream.movielens.errors import DatasetError
from reelstream.movielens.fetch import (
    BASE_URL,
    DATASETS,
    dataset_url,
    fetch,
    parse_md5_file,
    resolve_dataset,
)
from reelstream.movielens.loaders import (
    LAYOUTS,
    MOVIE_COLUMNS,
    RATING_COLUMNS,
    Layout,
    MovieLens,
    detect,
    load,
    load_movies,
    load_ratings,
)
from reelstream.movielens.titles import split_title

__all__ = [
    "DatasetError",
    "MovieLens",
    "Layout",
    "LAYOUTS",
    "RATING_COLUMNS",
    "MOVIE_COLUMNS",
    "detect",
    "load",
    "load_ratings",
    "load_movies",
    "split_title",
    "fetch",
    "resolve_dataset",
    "dataset_url",
    "parse_md5_file",
    "BASE_URL",
    "DATASETS",
]
