"""Outage errors are waited out (and reported), data errors are not retried (pure)."""

from __future__ import annotations

import psycopg
import pytest
import redis.exceptions

from reelstream.streaming import resilience
from reelstream.streaming.resilience import Health, is_outage, waits_out


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr("tenacity.nap.time.sleep", lambda s: None)


@pytest.mark.parametrize(
    "error",
    [
        redis.exceptions.ConnectionError("refused"),
        redis.exceptions.TimeoutError("timeout"),
        redis.exceptions.BusyLoadingError("loading"),
        psycopg.OperationalError("server closed the connection"),
        psycopg.InterfaceError("the connection is closed"),
        ConnectionRefusedError(),
    ],
)
def test_an_outage_is_retried_until_the_service_answers_and_reported_meanwhile(error):
    health, calls, seen = Health(), [], []

    @waits_out("Store", health)
    def flaky():
        calls.append(1)
        if len(calls) < 4:
            raise error
        seen.append((health.state, health.reason))
        return "done"

    assert is_outage(error)
    assert flaky() == "done" and len(calls) == 4
    assert seen[0][0] == "degraded" and seen[0][1].startswith(f"Store: {type(error).__name__}")
    assert (health.state, health.reason) == ("ok", None)


@pytest.mark.parametrize("error", [ValueError("bad"), OverflowError("date"), psycopg.errors.DataError("x")])
def test_a_data_error_is_raised_at_once(error):
    calls = []

    @waits_out("Store", Health())
    def broken():
        calls.append(1)
        raise error

    assert not is_outage(error)
    with pytest.raises(type(error)):
        broken()
    assert len(calls) == 1


def test_backoff_is_capped():
    assert resilience.MAX_BACKOFF_S <= 10
