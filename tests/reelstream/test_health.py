"""The pure health verdict: dependencies + worker records -> ok/degraded with reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from reelstream.health import NO_HEARTBEAT, HealthThresholds, assess, summarize
from reelstream.worker_status import WorkerStatus

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
UP = {"kafka": "up", "redis": "up", "postgres": "up"}
LIMITS = HealthThresholds(heartbeat_max_age_s=10, max_lag=100)


def worker(worker_id: str = "w1", age_s: float = 1, **fields: Any) -> WorkerStatus:
    beat = NOW - timedelta(seconds=age_s)
    return WorkerStatus(**{"worker_id": worker_id, "heartbeat_at": beat, "state": "ok",
                           "model_version": "online-v1", **fields})  # fmt: skip


def test_a_fresh_ok_worker_and_every_service_up_is_ok() -> None:
    learned = NOW - timedelta(seconds=3)
    verdict = assess(UP, [worker(lag={1: 4, 0: 2}, newest_learned_event_at=learned)], NOW, LIMITS)
    assert (verdict.status, verdict.reasons, verdict.total_lag) == ("ok", [], 6)
    [summary] = verdict.workers
    assert summary.state == "ok" and summary.heartbeat_age_s == 1.0
    assert summary.lag == {0: 2, 1: 4} and summary.newest_learned_event_age_s == 3.0
    assert summary.model_version == "online-v1"


def test_no_worker_ever_is_degraded_with_a_clear_reason() -> None:
    verdict = assess(UP, [], NOW, LIMITS)
    assert verdict.status == "degraded"
    assert verdict.reasons == [NO_HEARTBEAT] == ["no worker heartbeat"]
    assert verdict.services_up


def test_only_old_heartbeats_are_degraded_and_say_how_old() -> None:
    verdict = assess(UP, [worker(age_s=42), worker("w2", age_s=300)], NOW, LIMITS)
    assert verdict.status == "degraded"
    assert verdict.reasons == ["no worker heartbeat in the last 10 s (newest 42 s ago)"]
    assert [w.state for w in verdict.workers] == ["stale", "stale"]


def test_a_stale_worker_beside_a_fresh_one_is_listed_but_not_counted() -> None:
    verdict = assess(UP, [worker("new", lag={0: 5}), worker("gone", age_s=600, lag={1: 10_000})],
                     NOW, LIMITS)  # fmt: skip
    assert verdict.status == "ok", verdict.reasons
    assert verdict.total_lag == 5
    assert {w.worker_id: w.state for w in verdict.workers} == {"new": "ok", "gone": "stale"}


def test_a_worker_reporting_itself_degraded_gives_its_reason() -> None:
    verdict = assess(UP, [worker(state="degraded", reason="postgres unreachable, retrying")],
                     NOW, LIMITS)  # fmt: skip
    assert verdict.status == "degraded"
    assert verdict.reasons == ["worker w1 degraded: postgres unreachable, retrying"]


def test_a_starting_worker_is_not_ok_yet() -> None:
    assert assess(UP, [worker(state="starting")], NOW, LIMITS).reasons == ["worker w1 starting"]


def test_lag_above_the_threshold_is_degraded_at_the_threshold_is_not() -> None:
    at_limit = assess(UP, [worker(lag={0: 60}), worker("w2", lag={1: 40})], NOW, LIMITS)
    assert at_limit.status == "ok" and at_limit.total_lag == 100
    over = assess(UP, [worker(lag={0: 60}), worker("w2", lag={1: 41})], NOW, LIMITS)
    assert over.reasons == ["consumer lag 101 > 100"]


def test_a_dependency_down_and_unreadable_statuses() -> None:
    verdict = assess({**UP, "redis": "down"}, None, NOW, LIMITS)
    assert verdict.status == "degraded" and not verdict.services_up
    assert verdict.reasons == ["redis down", "worker heartbeats unreadable (redis down)"]
    assert verdict.workers == []


def test_a_heartbeat_from_a_clock_ahead_is_age_zero_and_long_reasons_are_cut() -> None:
    summary = summarize(worker(age_s=-2, state="degraded", reason="x" * 1000), NOW, LIMITS)
    assert summary.heartbeat_age_s == 0.0
    assert summary.reason is not None and len(summary.reason) == 200


def test_thresholds_come_from_the_settings() -> None:
    from reelstream.settings import Settings

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, health_heartbeat_max_age_s=3, health_max_lag=7
    )
    assert HealthThresholds.from_settings(settings) == HealthThresholds(3, 7)
    default = HealthThresholds.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
    assert default == HealthThresholds(10.0, 20_000)
