"""The MLflow pyfunc wrapper: (user_id, movie_id) -> predicted rating.

The wrapper holds no state of its own: ``load_context`` rebuilds the model from the
``factors.npz`` artifact, so the registered model is the arrays plus this small class.
"""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import pandas as pd
from mlflow.models.signature import ModelSignature
from mlflow.types.schema import ColSpec, Schema

from reelstream.models.batch import BatchModel

__all__ = ["FACTORS_ARTIFACT", "SIGNATURE", "BatchRatingModel"]

FACTORS_ARTIFACT = "factors"  # key in the pyfunc artifacts; the file is factors.npz

SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec("long", "user_id"), ColSpec("long", "movie_id")]),
    outputs=Schema([ColSpec("double", "rating")]),
)


class BatchRatingModel(mlflow.pyfunc.PythonModel):
    """Predict ratings with the batch model's biased MF."""

    def load_context(self, context: Any) -> None:
        self.model = BatchModel.load(context.artifacts[FACTORS_ARTIFACT])

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        ratings = self.model.predict(
            model_input["user_id"].to_numpy(), model_input["movie_id"].to_numpy()
        )
        return pd.DataFrame({"rating": ratings})
