"""Snapshots for the pipeline: from MovieLens files (offline/DVC) or PostgreSQL (nightly)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from reelstream.models.batch_als import BatchParams
from reelstream.params import read_section
from reelstream.training.split import SNAPSHOT_COLUMNS

__all__ = [
    "DEFAULT_DATASET",
    "load_params",
    "resolve_dataset",
    "movielens_snapshot",
    "postgres_snapshot",
]

#: The default MovieLens folder: ml-latest-small beside the repository (a default path only;
#: ``REELSTREAM_MOVIELENS_PATH`` or an explicit path wins).
DEFAULT_DATASET = Path("../shared/movielens/ml-latest-small")


def _batch_section(path: Path | str | None) -> dict[str, Any]:
    return read_section("batch", path)


def load_params(path: Path | str | None = None) -> BatchParams:
    """The ``batch:`` section of the parameters file as :class:`BatchParams`
    (:func:`reelstream.params.resolve_params`: ``path``, else ``REELSTREAM_PARAMS``, else the
    packaged defaults)."""
    section = _batch_section(path)
    section.pop("dataset", None)
    return BatchParams.from_dict(section)


def resolve_dataset(
    explicit: Path | str | None = None, params_path: Path | str | None = None
) -> Path:
    """MovieLens folder: explicit > ``REELSTREAM_MOVIELENS_PATH`` > ``batch.dataset`` > default."""
    for candidate in (
        explicit,
        os.environ.get("REELSTREAM_MOVIELENS_PATH"),
        _batch_section(params_path).get("dataset"),
    ):
        if candidate:
            return Path(candidate)
    return DEFAULT_DATASET


def movielens_snapshot(path: Path | str) -> pd.DataFrame:
    """A MovieLens folder (any layout the shared loader knows) or a processed parquet/csv."""
    path = Path(path)
    if path.is_file() and path.suffix == ".parquet":
        return pd.read_parquet(path).loc[:, list(SNAPSHOT_COLUMNS)]
    if path.is_file() and path.suffix == ".csv" and "rated_at" in path.read_text()[:200]:
        frame = pd.read_csv(path)
        frame["rated_at"] = pd.to_datetime(frame["rated_at"], utc=True)
        return frame.loc[:, list(SNAPSHOT_COLUMNS)]
    from reelstream.movielens import load_ratings

    ratings = load_ratings(path)
    ratings["rated_at"] = pd.to_datetime(ratings["timestamp"], unit="s", utc=True)
    return ratings.loc[:, list(SNAPSHOT_COLUMNS)]


def postgres_snapshot(dsn: str, end: datetime, start: datetime | None = None) -> pd.DataFrame:
    """Ratings stored up to ``end`` (the data interval end — never "now")."""
    from reelstream.store import EventStore

    with EventStore(dsn) as store:
        return store.ratings_snapshot(start, end).loc[:, list(SNAPSHOT_COLUMNS)]
