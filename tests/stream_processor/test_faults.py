"""Fault injection on a private embedded stack with the real worker (``pytest -m faults``).

The scenarios live in :mod:`benchmarks.chaos` (``reelstream bench chaos`` runs the same
ones); each test asserts by event identity: every valid event stored once and learned once,
every bad message on the dead-letter topic with its error, the worker never exited, and a
rating sent after the fault reached its user's list. These tests stop and start services, so
they get a stack of their own instead of the session's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from benchmarks.chaos import Chaos, run_scenario
from reelstream.settings import Settings
from tests.conftest import CORE_SERVICES, make_test_settings

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def chaos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chaos]:
    from reelstream.stack import SERVICES, EmbeddedStack, StackError

    for attempt in range(3):
        settings: Settings = make_test_settings(tmp_path_factory.mktemp(f"faults{attempt}"))
        stack = EmbeddedStack(settings, embedded=SERVICES, die_with_parent=True)
        try:
            stack.up(CORE_SERVICES)
        except StackError:
            stack.down()
            continue
        try:
            yield Chaos(settings, stack, tmp_path_factory.mktemp("logs"), outage_s=15.0, events=3000)
        finally:
            stack.down()
        return
    pytest.fail("could not start a private stack for the fault tests")


def _assert_by_identity(outcome) -> None:
    assert outcome.skipped is None, outcome.skipped
    assert outcome.worker_exits == 0, "the worker exited"
    assert outcome.stored == outcome.sent, f"{outcome.lost} valid events lost"
    assert outcome.learned == outcome.stored, (
        f"learned {outcome.learned} events for {outcome.stored} stored (each must be learned once)"
    )
    assert outcome.recover_s is not None, "a rating sent after the fault never reached its list"
    assert outcome.promotion_listeners == 1, "the promotion listener is not subscribed"


def test_poison_messages_are_dead_lettered_and_the_stream_goes_on(chaos):
    outcome = run_scenario("poison", chaos)
    _assert_by_identity(outcome)
    assert outcome.dead_lettered == outcome.bad, outcome.errors
    overflow = outcome.errors["overflowing timestamp"]
    assert "timestamp" in overflow or "out of range" in overflow
    assert "json" in outcome.errors["invalid UTF-8"].lower()
    assert "larger than" in outcome.errors["900 KB value"]
    assert "does not match user_id" in outcome.errors["key disagrees with user_id"]
    assert outcome.errors["JSON array"] and outcome.errors["null value"]


@pytest.mark.parametrize(
    ("service", "reason"), [("redis", "degraded"), ("postgres", "PostgreSQL: ")]
)
def test_an_outage_mid_replay_is_waited_out_and_reported(chaos, service, reason):
    outcome = run_scenario(service, chaos)
    _assert_by_identity(outcome)
    # during the outage the worker said so (metrics; with Redis up, its heartbeat's reason too)
    assert outcome.degraded is not None and reason in outcome.degraded, outcome.degraded


def test_a_killed_processor_process_is_replaced(chaos):
    outcome = run_scenario("processor", chaos)
    _assert_by_identity(outcome)


def test_a_corrupt_checkpoint_is_skipped_and_the_model_relearned(chaos):
    outcome = run_scenario("checkpoint", chaos)
    _assert_by_identity(outcome)


def test_a_restarted_broker_is_rejoined_and_nothing_is_lost(chaos):
    outcome = run_scenario("broker", chaos)
    _assert_by_identity(outcome)
    assert outcome.degraded is not None and "broker unreachable" in outcome.degraded


def test_a_broker_killed_with_unconsumed_events_loses_none_of_them(chaos):
    """Worker stopped, events acknowledged, kill -9 the broker, stack up, worker started: every
    acknowledged event is stored exactly once (by event_id) and learned once."""
    outcome = run_scenario("broker-kill", chaos)
    _assert_by_identity(outcome)
    assert outcome.lost == 0 and outcome.duplicated == 0


def test_losing_a_partition_leader_of_three_brokers_loses_nothing(chaos):
    """RF 3, min.insync.replicas 2: the leader of ratings partition 0 is killed mid-stream."""
    outcome = run_scenario("leader-kill", chaos)
    _assert_by_identity(outcome)
    assert "a send was refused" not in (outcome.degraded or ""), outcome.degraded


def test_a_nan_champion_is_refused_and_the_stream_goes_on(chaos, tmp_path):
    registry = chaos.settings.model_copy(
        update={"mlflow_tracking_uri": f"sqlite:///{tmp_path}/mlflow.db", "mlflow_experiment": "chaos"}
    )
    outcome = run_scenario("champion", Chaos(registry, chaos.stack, chaos.log_dir, events=600))
    _assert_by_identity(outcome)
    assert outcome.degraded and "refused" in outcome.degraded  # the worker said why, and went on


def test_ratings_the_api_accepted_survive_a_killed_broker(chaos):
    """Worker stopped, ratings posted (202), kill -9 the broker, stack up, worker started:
    every accepted rating is stored exactly once (by event_id) and learned once."""
    import json

    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from api.main import create_app
    from reelstream.processes import free_port
    from benchmarks.chaos_common import start_worker, wait_stored
    from benchmarks.chaos_probe import learned, stored_ids, synthetic_events
    from benchmarks.scratch import scratch_settings

    with scratch_settings(chaos.settings, "durable") as settings:
        settings = settings.model_copy(
            update={"worker_metrics_port": free_port(), "api_key": SecretStr("durable-key")}
        )
        events = synthetic_events(120)
        with TestClient(create_app(settings)) as client:
            for start in range(0, 100, 20):  # single posts and batches
                batch = [json.loads(e.to_bytes()) for e in events[start : start + 20]]
                answer = client.post("/ratings/batch", json={"events": batch},
                                     headers={"X-API-Key": "durable-key"})  # fmt: skip
                assert answer.status_code == 202, answer.text
            for event in events[100:]:
                answer = client.post("/ratings", json=json.loads(event.to_bytes()),
                                     headers={"X-API-Key": "durable-key"})  # fmt: skip
                assert answer.status_code == 202, answer.text
        assert chaos.stack.kill("kafka") is not None
        chaos.stack.up(["kafka"])
        worker = start_worker(settings, chaos.log_dir, "durable")
        ids = [e.event_id for e in events]
        try:
            wait_stored(settings, ids, 120)
            time.sleep(1.0)  # the last batch: learned after its insert
        finally:
            worker.stop()
        assert stored_ids(settings, ids) == set(ids)
        assert learned(settings) == len(ids), "each accepted rating learned exactly once"
