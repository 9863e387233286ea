"""The app factory: placeholder key refused outside development; OpenAPI docs served."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from api.main import create_app
from reelstream.settings import PLACEHOLDER_API_KEY, Settings


@pytest.mark.parametrize("environment", ["test", "production"])
def test_placeholder_key_refused_outside_development(environment: str) -> None:
    settings = Settings(environment="development").model_copy(
        update={"environment": environment, "api_key": SecretStr(PLACEHOLDER_API_KEY)}
    )
    with pytest.raises(RuntimeError, match="placeholder API key"):
        create_app(settings)


def test_placeholder_key_allowed_in_development() -> None:
    create_app(Settings(environment="development", api_key=PLACEHOLDER_API_KEY))


def test_openapi_docs() -> None:
    from fastapi.testclient import TestClient

    app = create_app(Settings(environment="test", api_key="k"))
    client = TestClient(app)  # no lifespan: the docs need no backing services
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/ratings", "/ratings/batch", "/users/{user_id}/recommendations", "/users/{user_id}/ratings",
        "/movies/{movie_id}", "/movies/{movie_id}/similar", "/popular", "/health", "/metrics",
    } <= set(paths)
    assert "APIKeyHeader" in str(paths["/ratings"]["post"]["security"])
