"""GET /models, POST /models/{v}/promote and /models/rollback (API key), and a user's list
scored by a given version; on a sqlite MLflow store (a tracking server is not needed)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from api_testing import closed_port, make_client
from fastapi.testclient import TestClient

from reelstream.models.batch_als import BatchParams
from reelstream.settings import Settings
from reelstream.training import registry
from reelstream.training.pipeline import train_and_evaluate

pytestmark = pytest.mark.integration


def _ratings() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [
        (u, int(m), float(rng.integers(1, 11)) / 2, 1_600_000_000 + 60 * (u * 30 + t))
        for u in range(1, 41)
        for t, m in enumerate(rng.choice(np.arange(1, 61), size=20, replace=False))
    ]
    return pd.DataFrame(rows, columns=["user_id", "movie_id", "rating", "rated_at"])


@pytest.fixture(scope="module")
def mlflow_settings(api_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("mlflow")
    settings = api_settings.model_copy(
        update={
            "mlflow_tracking_uri": f"sqlite:///{tmp}/mlflow.db",
            "mlflow_experiment": "api-models",
            "registered_model_name": "api-models-mf",
        }
    )
    result = train_and_evaluate(_ratings(), BatchParams(factors=4, iterations=4))
    registry.log_and_register(result, settings, "2024-01-01T00:00:00+00:00")
    worse = replace(result, metrics={**result.metrics, "ndcg_at_10": -1.0})
    registry.log_and_register(worse, settings, "2024-01-02T00:00:00+00:00")
    return settings


@pytest.fixture(scope="module")
def models_client(mlflow_settings: Settings) -> Iterator[TestClient]:
    with make_client(mlflow_settings) as test_client:
        yield test_client


def test_list(models_client: TestClient) -> None:
    body = models_client.get("/models").json()
    assert body["name"] == "api-models-mf" and body["champion"] == "1"
    assert [v["version"] for v in body["versions"]] == ["2", "1"]
    first = body["versions"][1]
    assert first["aliases"] == ["champion"] and first["data_interval_end"].startswith("2024-01-01")
    assert set(first["metrics"]) >= {"ndcg_at_10", "recall_at_10", "rmse"}
    assert 0 < first["metrics"]["rmse"] < 5 and first["n_ratings"] == 800
    assert body["versions"][0]["metrics"]["ndcg_at_10"] == -1.0


def test_promote_and_rollback_need_the_key(models_client: TestClient, auth: dict[str, str]) -> None:
    assert models_client.post("/models/2/promote").status_code == 401
    assert models_client.post("/models/rollback", headers={"X-API-Key": "wrong"}).status_code == 401
    assert models_client.post("/models/99/promote", headers=auth).status_code == 404
    assert models_client.post("/models/x/promote", headers=auth).status_code == 422

    promoted = models_client.post("/models/2/promote", headers=auth)
    assert promoted.status_code == 200 and promoted.json()["champion"] == "2"
    assert models_client.get("/models").json()["champion"] == "2"
    rolled = models_client.post("/models/rollback", headers=auth)
    assert rolled.status_code == 200 and rolled.json()["champion"] == "1"
    assert models_client.post("/models/rollback", headers=auth).status_code == 409


def test_user_list_by_version(models_client: TestClient, store: Any) -> None:
    body = models_client.get("/models/1/users/3/recommendations", params={"n": 5}).json()
    assert body["version"] == "1" and body["known_user"] is True and len(body["items"]) == 5
    scores = [i["score"] for i in body["items"]]
    assert scores == sorted(scores, reverse=True)
    stranger = models_client.get("/models/1/users/999999/recommendations").json()
    assert stranger["known_user"] is False and len(stranger["items"]) == 10
    assert models_client.get("/models/99/users/3/recommendations").status_code == 404
    assert models_client.get("/models/1/users/0/recommendations").status_code == 422


def test_mlflow_down_is_503(api_settings: Settings, auth: dict[str, str]) -> None:
    settings = api_settings.model_copy(
        update={"mlflow_tracking_uri": f"http://127.0.0.1:{closed_port()}"}
    )
    with make_client(settings) as down:
        assert down.get("/models").status_code == 503
        assert down.post("/models/1/promote", headers=auth).status_code == 503
        assert down.get("/models/1/users/1/recommendations").status_code == 503


def test_in_openapi_schema(models_client: TestClient) -> None:
    paths = models_client.get("/openapi.json").json()["paths"]
    assert "get" in paths["/models"] and "post" in paths["/models/rollback"]
    assert "post" in paths["/models/{version}/promote"]
    assert "get" in paths["/models/{version}/users/{user_id}/recommendations"]
