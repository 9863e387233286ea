"""``reelstream worker-health`` (container health check) and the workers in ``stack status``."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reelstream.cli import app
from reelstream.cli.worker_health import HEARTBEAT_METRIC, worker_lines
from reelstream.health import WorkerSummary
from reelstream.settings import Settings, get_settings
from reelstream.worker_status import WorkerStatus, publish_status

runner = CliRunner()


def test_worker_lines_show_state_heartbeat_lag_learned_and_model() -> None:
    lines = worker_lines([
        WorkerSummary("w-1", "ok", 0.42, {0: 3, 1: 9}, 12, 2.1, "online-v3"),
        WorkerSummary("w-22", "degraded", 125.0, {}, 0, None, "", reason="redis unreachable"),
    ])  # fmt: skip
    assert lines[0].split()[:3] == ["worker", "state", "heartbeat"]
    assert lines[1].split() == ["w-1", "ok", "0.4", "s", "ago", "12", "(0:3", "1:9)", "2.1",
                                "s", "ago", "online-v3"]  # fmt: skip
    assert "degraded: redis unreachable" in lines[2] and "2 min ago" in lines[2]
    assert lines[2].rstrip().endswith("-")  # no model, nothing learned
    assert len({line.index("state") if i == 0 else None for i, line in enumerate(lines)}) == 2


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_health_from_the_metrics_endpoint(env: pytest.MonkeyPatch) -> None:
    from prometheus_client import CollectorRegistry, Gauge, start_http_server

    from reelstream.processes import free_port

    registry = CollectorRegistry()
    beat = Gauge(HEARTBEAT_METRIC, "heartbeat", registry=registry)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        env.setenv("REELSTREAM_WORKER_METRICS_PORT", str(port))
        env.setenv("REELSTREAM_WORKER_ID", "w-metrics")
        result = runner.invoke(app, ["worker-health"])
        assert result.exit_code == 1 and "no heartbeat yet" in result.output

        beat.set(time.time() - 1)
        result = runner.invoke(app, ["worker-health"])
        assert result.exit_code == 0, result.output
        assert "worker w-metrics: heartbeat 1." in result.output

        beat.set(time.time() - 60)
        result = runner.invoke(app, ["worker-health", "--max-age", "30"])
        assert result.exit_code == 1 and "stale after 30 s" in result.output
    finally:
        server.shutdown()
        thread.join(5)
    result = runner.invoke(app, ["worker-health"])  # nothing listens any more
    assert result.exit_code == 1 and "metrics unreadable" in result.output


def test_health_from_redis_and_the_stack_status_table(
    stack: Settings, env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import redis

    prefix = f"wh-{uuid.uuid4().hex[:8]}:"
    for key, value in {"REDIS_URL": stack.redis_url, "REDIS_PREFIX": prefix,
                       "WORKER_METRICS_PORT": "0", "WORKER_ID": "w-fresh",
                       "STATE_DIR": str(tmp_path)}.items():  # fmt: skip
        env.setenv(f"REELSTREAM_{key}", value)

    result = runner.invoke(app, ["stack", "status"])
    assert result.exit_code == 0, result.output
    assert "workers: none has reported a heartbeat" in result.output
    assert runner.invoke(app, ["worker-health"]).exit_code == 1

    client = redis.Redis.from_url(stack.redis_url)
    now = datetime.now(UTC)
    try:
        publish_status(client, prefix, WorkerStatus(
            "w-fresh", "degraded", now, "online-v7", reason="postgres unreachable",
            lag={0: 4, 3: 1}, newest_learned_event_at=now - timedelta(seconds=5)))  # fmt: skip
        publish_status(client, prefix, WorkerStatus("w-old", "ok", now - timedelta(minutes=5)))
    finally:
        client.close()

    result = runner.invoke(app, ["worker-health"])
    assert result.exit_code == 0, result.output  # alive, waiting an outage out
    assert "degraded (postgres unreachable)" in result.output
    result = runner.invoke(app, ["worker-health", "--worker-id", "w-old"])
    assert result.exit_code == 1 and "heartbeat 300" in result.output.replace("\n", " ")

    result = runner.invoke(app, ["stack", "status"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    assert "5 (0:4 3:1)" in rows["w-fresh"] and "online-v7" in rows["w-fresh"]
    assert "degraded: postgres unreachable" in rows["w-fresh"]
    assert "stale" in rows["w-old"] and "5 min ago" in rows["w-old"]
