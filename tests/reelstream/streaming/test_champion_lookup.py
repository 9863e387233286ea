"""The worker's champion check over MLflow's REST API agrees with the MLflow client."""

from __future__ import annotations

import uuid

import pytest

from reelstream.streaming.promotion import current_champion_version
from reelstream.training import registry

pytestmark = pytest.mark.integration


def test_rest_lookup_matches_the_mlflow_client(mlflow_stack):
    settings = mlflow_stack.model_copy(
        update={"registered_model_name": f"lookup-{uuid.uuid4().hex[:8]}"}
    )
    assert current_champion_version(settings) is None  # no such model yet

    client = registry.client_for(settings)
    client.create_registered_model(settings.registered_model_name)
    for _ in range(2):
        client.create_model_version(settings.registered_model_name, source="s3://reelstream-test/model")  # never read
    assert current_champion_version(settings) is None  # versions, but no champion alias

    client.set_registered_model_alias(settings.registered_model_name, registry.CHAMPION, "2")
    assert current_champion_version(settings) == registry.champion_version(settings) == "2"
    client.set_registered_model_alias(settings.registered_model_name, registry.CHAMPION, "1")
    assert current_champion_version(settings) == "1"
