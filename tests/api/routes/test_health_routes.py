"""GET /health (open; each dependency up/down) and GET /metrics."""

from __future__ import annotations

import pytest
from api_testing import closed_port, make_client
from fastapi.testclient import TestClient

from reelstream.settings import Settings

pytestmark = pytest.mark.integration


def test_all_up(client: TestClient) -> None:
    response = client.get("/health")  # no API key needed
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok", "services": {"kafka": "up", "redis": "up", "postgres": "up"},
    }


@pytest.mark.parametrize("down", ["kafka", "redis", "postgres"])
def test_one_down_is_503(api_settings: Settings, down: str) -> None:
    port = closed_port()
    broken = {
        "kafka": {"kafka_bootstrap_servers": f"127.0.0.1:{port}"},
        "redis": {"redis_url": f"redis://127.0.0.1:{port}/0"},
        "postgres": {"postgres_dsn": f"postgresql://reelstream@127.0.0.1:{port}/reelstream"},
    }[down]
    with make_client(api_settings.model_copy(update=broken)) as client:
        response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["services"] == {name: "down" if name == down else "up" for name in ("kafka", "redis", "postgres")}


def test_metrics(client: TestClient) -> None:
    client.get("/health")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for name in (
        "reelstream_api_request_duration_seconds_bucket",
        "reelstream_api_events_accepted_total",
        "reelstream_api_events_rejected_total",
        "reelstream_api_recommendations_total",
    ):
        assert name in text
    assert 'route="/health",status="200"' in text
