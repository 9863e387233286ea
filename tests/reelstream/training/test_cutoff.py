"""Which ratings a run trains on: conf cut-off > data interval end > run_after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from reelstream.training.cutoff import parse_cutoff, run_cutoff

RUN_AFTER = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)
MIDNIGHT = datetime(2026, 12, 1, tzinfo=UTC)


def test_manual_run_without_interval_takes_everything_up_to_run_after():
    cutoff = run_cutoff(run_after=RUN_AFTER, data_interval_end=None, conf={})
    assert (cutoff.at, cutoff.source) == (RUN_AFTER, "run_after")
    assert "2026-12-01T12:30:00+00:00" in cutoff.describe()


def test_scheduled_run_takes_its_interval_end():
    cutoff = run_cutoff(run_after=RUN_AFTER, data_interval_end=MIDNIGHT, conf=None)
    assert (cutoff.at, cutoff.source) == (MIDNIGHT, "data interval end")


def test_conf_cutoff_wins_and_is_normalised_to_utc():
    cutoff = run_cutoff(run_after=RUN_AFTER, data_interval_end=MIDNIGHT,
                        conf={"cutoff": "2026-11-30T20:00:00-05:00"})
    assert cutoff.source == "conf"
    assert cutoff.at == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert cutoff.at.tzinfo == UTC
    assert parse_cutoff("2026-12-01T00:00:00Z") == MIDNIGHT
    assert parse_cutoff("2026-12-01") == MIDNIGHT  # naive means UTC
    plus_one = datetime(2026, 12, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    assert parse_cutoff(plus_one) == MIDNIGHT


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"cutoff": "yesterday"}, "not an ISO 8601 datetime"),
        ({"cutoff": 20261201}, "must be an ISO 8601 datetime string"),
        ({"cutoff": "2026-12-02T00:00:00Z"}, "after the run was asked for"),
        ({"cut_off": "2026-12-01"}, "unknown conf key"),
    ],
)
def test_bad_conf_is_a_clear_error(conf, message):
    with pytest.raises(ValueError, match=message):
        run_cutoff(run_after=RUN_AFTER, conf=conf)
