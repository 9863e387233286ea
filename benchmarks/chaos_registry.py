"""The model-registry side of the ``champion`` chaos scenario: a NaN champion registered and
promoted, and the scratch entries removed afterwards."""

from __future__ import annotations

import logging
from pathlib import Path

from reelstream.settings import Settings

__all__ = ["register_nan_champion", "forget_registry_entries", "open_registry"]

log = logging.getLogger(__name__)


def open_registry(settings: Settings) -> None:
    """Create the registry's tables now, before a worker polls it: two processes creating a
    fresh SQLite-backed registry at once race on its schema migration."""
    from reelstream.training.registry import client_for

    client_for(settings).search_registered_models(max_results=1)


def forget_registry_entries(settings: Settings) -> None:
    """The scratch registered model and experiment (a user's registry keeps no chaos)."""
    from reelstream.training.registry import client_for

    client = client_for(settings)
    try:
        client.delete_registered_model(settings.registered_model_name)
        experiment = client.get_experiment_by_name(settings.mlflow_experiment)
        if experiment is not None:
            client.delete_experiment(experiment.experiment_id)
    except Exception:  # noqa: BLE001 - best effort
        log.warning("chaos entries left in the model registry", exc_info=True)


def register_nan_champion(settings: Settings) -> str:
    """Register a batch model whose item factors are NaN and make it the champion."""
    import tempfile

    import mlflow
    import numpy as np

    from reelstream.models.batch import BatchModel
    from reelstream.training.pyfunc import FACTORS_ARTIFACT, SIGNATURE, BatchRatingModel
    from reelstream.training.registry import _experiment_id, client_for, promote

    users, items, k = 50, 400, 8
    model = BatchModel(
        user_ids=np.arange(1, users + 1), movie_ids=np.arange(1, items + 1),
        user_factors=np.zeros((users, k), np.float32),
        item_factors=np.full((items, k), np.nan, np.float32),
        user_bias=np.zeros(users, np.float32), item_bias=np.zeros(items, np.float32),
        global_mean=3.5, item_popularity=np.ones(items),
    )
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    client = client_for(settings)
    with mlflow.start_run(experiment_id=_experiment_id(client, settings), run_name="chaos-nan"), \
            tempfile.TemporaryDirectory() as tmp:
        factors = model.save(Path(tmp) / "factors.npz")
        info = mlflow.pyfunc.log_model(
            name="model", python_model=BatchRatingModel(), artifacts={FACTORS_ARTIFACT: str(factors)},
            signature=SIGNATURE, registered_model_name=settings.registered_model_name,
        )
    return promote(str(info.registered_model_version), settings, reason="chaos: a NaN champion")
