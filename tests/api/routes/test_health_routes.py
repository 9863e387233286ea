"""GET /health, /health/pipeline (open; dependencies and the stream's liveness), /metrics.

Status-code rules: ``/health`` is 503 only when Kafka, Redis or PostgreSQL is down; a stalled
stream is ``degraded`` with reasons at 200. ``/health/pipeline`` is 503 whenever degraded.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from api_testing import closed_port, make_client
from fastapi.testclient import TestClient

from reelstream.health import HealthThresholds
from reelstream.serving.health_probe import HealthMonitor
from reelstream.settings import Settings
from reelstream.worker_status import WorkerStatus, publish_status

UP = {"kafka": "up", "redis": "up", "postgres": "up"}


# --- with fake probes (no servers) -----------------------------------------------------------
class FakeWorld:
    """Dependency checks and worker records a test can change; counts how often it is asked."""

    def __init__(self) -> None:
        self.services = dict(UP)
        self.statuses: list[WorkerStatus] | None = []
        self.asked = 0
        self.delay_s = 0.0

    def checks(self) -> dict[str, Callable[[], bool]]:
        return {name: partial(self.is_up, name) for name in UP}

    def is_up(self, name: str) -> bool:
        return self.services[name] == "up"

    def read(self) -> list[WorkerStatus]:
        self.asked += 1
        time.sleep(self.delay_s)
        if self.statuses is None:
            raise ConnectionError("redis://internal-cache-7:6379 refused")
        return self.statuses


def status(age_s: float = 0.5, **fields: Any) -> WorkerStatus:
    beat = datetime.now(UTC) - timedelta(seconds=age_s)
    return WorkerStatus(**{"worker_id": "w1", "state": "ok", "model_version": "online-v2",
                           "heartbeat_at": beat, **fields})  # fmt: skip


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()


@pytest.fixture
def fake_client(world: FakeWorld) -> Iterator[TestClient]:
    port = closed_port()  # nothing real is reached: the monitor is replaced below
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, environment="test", api_key="k",
        kafka_bootstrap_servers=f"127.0.0.1:{port}", redis_url=f"redis://127.0.0.1:{port}/0",
        postgres_dsn=f"postgresql://x@127.0.0.1:{port}/x",
    )  # fmt: skip
    with make_client(settings) as client:
        client.app.state.context.health_monitor = HealthMonitor(  # type: ignore[attr-defined]
            world.checks(), world.read, HealthThresholds(heartbeat_max_age_s=10, max_lag=100),
            ttl_s=0,
        )
        yield client


def test_fresh_stack_without_a_worker_says_so(fake_client: TestClient) -> None:
    response = fake_client.get("/health")
    assert response.status_code == 200  # the API itself can serve
    assert response.json() == {
        "status": "degraded", "reasons": ["no worker heartbeat"], "services": UP,
        "workers": [], "total_lag": 0,
    }  # fmt: skip
    assert fake_client.get("/health/pipeline").status_code == 503


def test_a_live_worker_is_ok_and_summarised(fake_client: TestClient, world: FakeWorld) -> None:
    learned = datetime.now(UTC) - timedelta(seconds=30)
    world.statuses = [status(lag={0: 3, 1: 4}, newest_learned_event_at=learned)]
    response = fake_client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["reasons"], body["total_lag"]) == ("ok", [], 7)
    [w] = body["workers"]
    assert (w["worker_id"], w["state"], w["model_version"]) == ("w1", "ok", "online-v2")
    assert w["lag"] == {"0": 3, "1": 4} and w["total_lag"] == 7
    assert 0 <= w["heartbeat_age_s"] < 5 and 30 <= w["newest_learned_event_age_s"] < 40
    assert fake_client.get("/health/pipeline").status_code == 200


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"age_s": 60}, "no worker heartbeat in the last 10 s (newest 60 s ago)"),
        ({"state": "degraded", "reason": "redis unreachable"},
         "worker w1 degraded: redis unreachable"),
        ({"lag": {0: 101}}, "consumer lag 101 > 100"),
    ],
)
def test_a_stall_is_degraded_with_its_reason(
    fake_client: TestClient, world: FakeWorld, fields: dict[str, Any], reason: str
) -> None:
    world.statuses = [status(**fields)]
    response = fake_client.get("/health")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["reasons"]) == ("degraded", [reason])
    assert fake_client.get("/health/pipeline").status_code == 503


def test_a_dependency_down_is_503_without_internal_details(
    fake_client: TestClient, world: FakeWorld
) -> None:
    world.services["redis"] = "down"
    world.statuses = None  # the reader raises with a host name in its message
    response = fake_client.get("/health")
    assert response.status_code == 503
    assert response.json()["reasons"] == ["redis down", "worker heartbeats unreadable (redis down)"]
    assert "internal-cache" not in response.text and "6379" not in response.text


def test_concurrent_requests_share_one_probe_and_it_is_cached(world: FakeWorld) -> None:
    world.delay_s = 0.2
    monitor = HealthMonitor(world.checks(), world.read, HealthThresholds(), ttl_s=30)

    async def many() -> list[str]:
        verdicts = await asyncio.gather(*(monitor.verdict() for _ in range(20)))
        return [v.status for v in verdicts]

    assert asyncio.run(many()) == ["degraded"] * 20
    assert (monitor.probes, world.asked) == (1, 1)
    asyncio.run(monitor.verdict())
    assert monitor.probes == 1  # still cached
    monitor.ttl_s = 0
    asyncio.run(monitor.verdict())
    assert monitor.probes == 2


def test_a_hanging_check_is_down_within_the_timeout(world: FakeWorld) -> None:
    release = threading.Event()
    checks = {**world.checks(), "kafka": lambda: release.wait(30)}
    monitor = HealthMonitor(checks, world.read, HealthThresholds(), timeout_s=0.2)
    try:
        started = time.monotonic()
        probe = monitor.probe_now()
        assert probe.services["kafka"] == "down" and probe.services["redis"] == "up"
        assert time.monotonic() - started < 5
    finally:
        release.set()


# --- on the real embedded stack --------------------------------------------------------------
@pytest.fixture
def live_client(api_settings: Settings) -> Iterator[tuple[TestClient, Settings]]:
    settings = api_settings.model_copy(
        update={"redis_prefix": f"health-{uuid.uuid4().hex[:8]}:", "health_cache_s": 0.0}
    )
    with make_client(settings) as client:
        yield client, settings


def test_real_redis_worker_records_drive_the_verdict(
    live_client: tuple[TestClient, Settings],
) -> None:
    import redis

    client, settings = live_client
    body = client.get("/health").json()
    assert body["services"] == UP
    assert (body["status"], body["reasons"]) == ("degraded", ["no worker heartbeat"])

    r = redis.Redis.from_url(settings.redis_url)
    try:
        old = datetime.now(UTC) - timedelta(seconds=settings.health_heartbeat_max_age_s + 30)
        publish_status(r, settings.redis_prefix, WorkerStatus("w-old", "ok", old, lag={0: 2}))
        response = client.get("/health")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "degraded"
        assert body["reasons"][0].startswith("no worker heartbeat in the last 10 s (newest 4")
        assert [(w["worker_id"], w["state"]) for w in body["workers"]] == [("w-old", "stale")]
        assert client.get("/health/pipeline").status_code == 503

        publish_status(r, settings.redis_prefix,
                       WorkerStatus("w-new", "ok", datetime.now(UTC), lag={1: 5}))  # fmt: skip
        body = client.get("/health").json()
        assert (body["status"], body["reasons"], body["total_lag"]) == ("ok", [], 5)
        assert [w["worker_id"] for w in body["workers"]] == ["w-new", "w-old"]
        assert client.get("/health/pipeline").status_code == 200
    finally:
        r.close()


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
    assert body["status"] == "degraded" and f"{down} down" in body["reasons"]
    assert body["services"] == {name: "down" if name == down else "up" for name in UP}
    assert str(port) not in response.text


def test_the_kafka_probe_keeps_one_admin_client(api_settings: Settings) -> None:
    from reelstream.serving.health_probe import BrokerProbe

    probe = BrokerProbe(api_settings)
    try:
        assert probe.reachable(2.0)
        admin = probe._admin
        assert admin is not None
        assert probe.reachable(2.0) and probe._admin is admin  # reused, not rebuilt
    finally:
        probe.close()
    assert probe._admin is None


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
