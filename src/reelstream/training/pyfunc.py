"""The MLflow pyfunc wrapper: (user_id, movie_id) -> predicted rating, or each user's top-N.

The wrapper holds no state of its own: ``load_context`` rebuilds the model from the
``factors.npz`` artifact, so the registered model is the arrays plus this small class.

With the param ``top_n`` > 0 it ranks instead: one row per recommended movie of each distinct
``user_id`` (``rank``, ``score`` and ``because``, a JSON list of ``[rated movie_id, share]``),
scored by the nightly ranker exactly as ``reelstream evaluate batch`` scored it.
"""

from __future__ import annotations

import json
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.models.signature import ModelSignature
from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

from reelstream.models.batch import BatchModel

__all__ = ["FACTORS_ARTIFACT", "SIGNATURE", "BatchRatingModel", "top_n_frame"]

FACTORS_ARTIFACT = "factors"  # key in the pyfunc artifacts; the file is factors.npz

SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec("long", "user_id"), ColSpec("long", "movie_id")]),
    outputs=Schema([ColSpec("double", "rating")]),
    params=ParamSchema([ParamSpec("top_n", "long", 0)]),
)


def top_n_frame(model: BatchModel, user_ids: np.ndarray, n: int) -> pd.DataFrame:
    """Each known user's top-``n`` unrated movies with the reasons for them."""
    rows = []
    for user in pd.unique(np.asarray(user_ids, dtype=np.int64)):
        row = int(model.user_index(np.array([user]))[0])
        if row < 0:
            continue
        scores = np.asarray(model.rank_scores(np.array([row]))[0], dtype=np.float64).copy()
        history = model.history(row)
        scores[history] = -np.inf
        top = np.argsort(-scores, kind="stable")[:n]
        movies = model.movie_ids[top]
        because = model.explain(model.movie_ids[history], movies)
        for rank, (movie, col, reasons) in enumerate(zip(movies, top, because, strict=True), 1):
            rows.append((int(user), int(movie), rank, float(scores[col]),
                         json.dumps([[m, s] for m, s in reasons])))
    return pd.DataFrame(rows, columns=["user_id", "movie_id", "rank", "score", "because"])


class BatchRatingModel(mlflow.pyfunc.PythonModel):
    """Predict ratings with the batch model's biased MF, or rank with its ranker."""

    def load_context(self, context: Any) -> None:
        self.model = BatchModel.load(context.artifacts[FACTORS_ARTIFACT])

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        top_n = int((params or {}).get("top_n") or 0)
        if top_n > 0:
            return top_n_frame(self.model, model_input["user_id"].to_numpy(), top_n)
        ratings = self.model.predict(
            model_input["user_id"].to_numpy(), model_input["movie_id"].to_numpy()
        )
        return pd.DataFrame({"rating": ratings})
