"""MLflow registration, gated promotion, idempotency and rollback on a sqlite store.

Logging a pyfunc model costs seconds, so one store walks through the whole life cycle in
order (each step asserts what it expects of the previous state).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from reelstream.models.batch_als import BatchParams
from reelstream.settings import Settings
from reelstream.training import registry
from reelstream.training.pipeline import train_and_evaluate

FAST = BatchParams(factors=4, iterations=4)
DAY1, DAY2 = "2024-01-01T00:00:00+00:00", "2024-01-02T00:00:00+00:00"


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    tmp = tmp_path_factory.mktemp("mlflow")
    return Settings(
        mlflow_tracking_uri=f"sqlite:///{tmp}/mlflow.db",
        mlflow_experiment="test",
        registered_model_name="test-mf",
    )


@pytest.fixture(scope="module")
def result(ratings):
    return train_and_evaluate(ratings, FAST)


def test_registry_life_cycle(settings, result):
    assert registry.load_champion(settings) is None

    # 1. The first model always becomes champion, and the worker can load its arrays.
    first = registry.log_and_register(result, settings, DAY1)
    assert first.promoted and first.champion == first.version == "1" and not first.reused
    champion = registry.load_champion(settings)
    assert champion is not None and champion.version == "1"
    np.testing.assert_allclose(champion.model.item_factors, result.model.item_factors)
    np.testing.assert_allclose(champion.model.item_bias, result.model.item_bias)
    np.testing.assert_array_equal(champion.model.movie_ids, result.model.movie_ids)
    assert champion.model.global_mean == pytest.approx(result.model.global_mean)

    # 2. Re-running the same interval registers nothing and returns the first outcome.
    again = registry.log_and_register(result, settings, DAY1)
    assert again.reused and again.version == "1" and again.run_id == first.run_id
    assert len(registry.list_versions(settings)) == 1

    # 3. A worse model (lower NDCG@10) is registered but not promoted.
    worse = replace(result, metrics={**result.metrics,
                                     "ndcg_at_10": result.metrics["ndcg_at_10"] - 0.05})
    second = registry.log_and_register(worse, settings, DAY2)
    assert second.version == "2" and not second.promoted and second.champion == "1"
    assert [v["version"] for v in registry.list_versions(settings)] == ["2", "1"]

    # 4. Manual promotion keeps the history; rollback restores the previous champion.
    registry.promote("2", settings)
    aliases = {v["version"]: v["aliases"] for v in registry.list_versions(settings)}
    assert aliases == {"2": ["champion"], "1": ["previous-champion"]}
    assert registry.rollback(settings) == "1"
    assert registry.champion_version(settings) == "1"
    assert registry.load_champion(settings).version == "1"
    with pytest.raises(LookupError):
        registry.rollback(settings)


def test_pyfunc_has_signature_and_predicts(settings, result):
    import mlflow

    registry.log_and_register(result, settings, DAY1)  # no-op if the life cycle ran first
    model = mlflow.pyfunc.load_model(f"models:/{settings.registered_model_name}/1")
    assert [c.name for c in model.metadata.get_input_schema().inputs] == ["user_id", "movie_id"]
    out = model.predict(pd.DataFrame({"user_id": [1, 2], "movie_id": [1, 3]}))
    np.testing.assert_allclose(
        out["rating"].to_numpy(), result.model.predict(np.array([1, 2]), np.array([1, 3]))
    )
