"""Snapshot -> split -> train -> evaluate: the part of the pipeline that needs no MLflow."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from reelstream.evaluation.baselines import PopularityModel
from reelstream.evaluation.scoring import evaluate_model
from reelstream.models.batch import BatchModel
from reelstream.models.batch_als import BatchParams, train_batch_model
from reelstream.training.split import SNAPSHOT_COLUMNS, temporal_split

__all__ = ["SnapshotInfo", "TrainingResult", "describe_snapshot", "train_and_evaluate"]


@dataclass(frozen=True)
class SnapshotInfo:
    """Size and time range of the ratings a model was trained on (logged to MLflow)."""

    n_ratings: int
    n_users: int
    n_movies: int
    start: str  # ISO 8601, earliest rated_at
    end: str  # ISO 8601, latest rated_at

    def as_params(self) -> dict[str, Any]:
        return {f"snapshot_{k}": v for k, v in self.__dict__.items()}


@dataclass
class TrainingResult:
    model: BatchModel
    params: BatchParams
    snapshot: SnapshotInfo
    metrics: dict[str, float]  # our model on the held-out split
    baselines: dict[str, dict[str, float]] = field(default_factory=dict)
    train_seconds: float = 0.0


def _iso(value: Any) -> str:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.isoformat()


def describe_snapshot(ratings: pd.DataFrame) -> SnapshotInfo:
    times = ratings["rated_at"]
    if pd.api.types.is_numeric_dtype(times):  # MovieLens epoch seconds
        times = pd.to_datetime(times, unit="s", utc=True)
    return SnapshotInfo(
        n_ratings=int(len(ratings)),
        n_users=int(ratings["user_id"].nunique()),
        n_movies=int(ratings["movie_id"].nunique()),
        start=_iso(times.min()) if len(ratings) else "",
        end=_iso(times.max()) if len(ratings) else "",
    )


def train_and_evaluate(
    ratings: pd.DataFrame, params: BatchParams | None = None, baselines: bool = True
) -> TrainingResult:
    """Split the snapshot, train on the older 80% and score on each user's latest 20%.

    The returned model is the one trained on the training part: the same model that was
    evaluated is the one registered, so its metrics describe exactly what gets served.
    """
    params = params or BatchParams()
    ratings = ratings.loc[:, list(SNAPSHOT_COLUMNS)]
    train, test = temporal_split(ratings, params.test_fraction)
    started = time.perf_counter()
    model = train_batch_model(train, params)
    train_seconds = time.perf_counter() - started
    scored = {"k": params.k, "threshold": params.relevance_threshold}
    result = TrainingResult(
        model=model,
        params=params,
        snapshot=describe_snapshot(ratings),
        metrics=evaluate_model(model, train, test, **scored),
        train_seconds=train_seconds,
    )
    if baselines:
        result.baselines["popularity"] = evaluate_model(
            PopularityModel.fit(train), train, test, **scored
        )
    return result
