"""The whole pipeline once, shared by ``reelstream retrain`` and the Airflow DAG."""

from __future__ import annotations

import pandas as pd

from reelstream.models.batch_als import BatchParams
from reelstream.settings import Settings
from reelstream.training.pipeline import TrainingResult, train_and_evaluate
from reelstream.training.registry import RegistryOutcome, find_interval_run, log_and_register

__all__ = ["retrain_once"]


def retrain_once(
    ratings: pd.DataFrame,
    settings: Settings,
    data_interval_end: str,
    params: BatchParams | None = None,
) -> tuple[RegistryOutcome, TrainingResult | None]:
    """Train, evaluate, log, register and gate-promote; a no-op for an interval already done.

    Returns the registry outcome and the training result (None when the interval was reused).
    """
    existing = find_interval_run(settings, data_interval_end)
    if existing is not None:
        return existing, None
    result = train_and_evaluate(ratings, params)
    return log_and_register(result, settings, data_interval_end), result
