"""Ours beside the published baselines under one protocol, each tuned on validation.

For every model: each setting of its grid is fitted on the inner training part and scored on
the validation part; the best (by NDCG@k) is refitted on the whole training part and scored
once on the test part. Lists are also described beyond accuracy
(:mod:`reelstream.evaluation.beyond`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reelstream.evaluation.beyond import list_metrics
from reelstream.evaluation.list_baselines import BASELINES, Baseline, fit_ours
from reelstream.evaluation.protocol import Interactions, evaluate_ranking, protocol_splits

__all__ = ["ComparedModel", "compare", "ours_baseline"]


@dataclass
class ComparedModel:
    name: str
    setting: dict[str, Any]
    metrics: dict[str, float]
    validation_ndcg: float
    grid: list[tuple[dict[str, Any], float]] = field(default_factory=list)


def ours_baseline(fixed: dict[str, Any], grid: Sequence[dict[str, Any]] = ()) -> Baseline:
    """Our ranker as a :class:`Baseline`: ``fixed`` settings, optionally a grid over others."""
    settings = [{**fixed, **g} for g in grid] or [dict(fixed)]
    return Baseline("ours (nightly ranker)", fit_ours, settings)


def _genres_by_column(movie_ids: np.ndarray, genres: dict[int, set[str]] | None):
    if genres is None:
        return None
    return [genres.get(int(m), set()) for m in movie_ids]


def compare(
    ratings: pd.DataFrame,
    models: Sequence[Baseline],
    genres: dict[int, set[str]] | None = None,
    k: int = 10,
    threshold: float = 4.0,
    fraction: float = 0.2,
    extra: Sequence[tuple[str, Baseline]] = (),
) -> list[ComparedModel]:
    """Tune each model on validation, score the chosen setting on test.

    ``extra`` rows are scored on test with their first setting as is (no tuning): used for
    trade-off variants of a tuned model, e.g. a popularity penalty.
    """
    (train, test), (inner, validation) = protocol_splits(ratings, fraction)
    full, part = Interactions.from_frame(train), Interactions.from_frame(inner)
    by_column = _genres_by_column(full.movie_ids, genres)
    scored = {"k": k, "threshold": threshold}
    results = []

    def on_test(name: str, setting: dict[str, Any], fit, val: float, grid) -> ComparedModel:
        started = time.perf_counter()
        scores = fit(full, **setting)
        seconds = time.perf_counter() - started
        out = evaluate_ranking(scores, full, test, **scored)
        metrics = {key: float(v) for key, v in out.items() if np.isscalar(v)}
        metrics.update(list_metrics(out["lists"], full.popularity, by_column))
        metrics["fit_s"] = seconds
        return ComparedModel(name, setting, metrics, val, grid)

    for model in models:
        grid = []
        for setting in model.grid:
            out = evaluate_ranking(model.fit(part, **setting), part, validation, **scored)
            grid.append((setting, float(out[f"ndcg_at_{k}"])))
        best, val = max(grid, key=lambda sv: sv[1])
        results.append(on_test(model.name, best, model.fit, val, grid))
    for name, model in extra:
        results.append(on_test(name, model.grid[0], model.fit, float("nan"), []))
    return results
