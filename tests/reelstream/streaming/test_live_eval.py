"""Live evaluation in the processor, against the real PostgreSQL and Redis: the champion and
a shadow challenger both report test-then-learn figures; inverted ratings raise a drift that
reaches the worker's status, /health's verdict and Prometheus."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY

from reelstream.health import HealthThresholds, assess
from reelstream.models import OnlineConfig, OnlineRecommender
from reelstream.schemas import RatingEvent
from reelstream.streaming.heartbeat import Heartbeat
from reelstream.streaming.live_eval import LiveEvaluation

from tests.reelstream.streaming.test_processor import make_processor, messages

START = datetime(2021, 1, 1, tzinfo=UTC)


def _events(n: int, *, invert: bool, start: int, users: int = 30, movies: int = 80) -> list[RatingEvent]:
    """Each movie has a taste (its rating, same for everyone); ``invert`` flips it."""
    rng = random.Random(start)
    out = []
    for i in range(n):
        user, movie = rng.randint(1, users), rng.randint(1, movies)
        rating = 1.0 + (movie % 5)
        out.append(RatingEvent(
            user_id=user, movie_id=movie, rating=6.0 - rating if invert else rating,
            timestamp=START + timedelta(seconds=start + i),
        ))
    return out


def test_champion_and_challenger_report_and_drift_reaches_health(worker_settings, cache):
    processor = make_processor(worker_settings, cache)
    challenger = OnlineRecommender(OnlineConfig(learner="reco.FunkMF", cold_start_min_ratings=1))
    processor.live = LiveEvaluation(window=500, challenger=challenger)
    steady = _events(3000, invert=False, start=0)
    for i in range(0, len(steady), 250):
        processor.handle(messages(steady[i : i + 250], offset=i))

    snap = processor.live.snapshot(processor.model.version)
    assert set(snap) == {"champion", "challenger"}
    assert snap["challenger"]["version"] == challenger.version != snap["champion"]["version"]
    for role in snap.values():
        assert role["events"] == 3000 and role["window"] == 500
        assert 0.0 <= role["rmse"] < 1.0  # a learnable stream: both learned it
        assert 0.0 <= role["hr@10"] <= 1.0
    assert challenger.events_learned == processor.model.events_learned == 3000
    assert processor.live.drift(hold_s=600) is None

    inverted = _events(1500, invert=True, start=10_000)
    for i in range(0, len(inverted), 250):
        processor.handle(messages(inverted[i : i + 250], offset=3000 + i))
    assert processor.live.drift(hold_s=600) is not None
    assert processor.live.drift(hold_s=600, now=processor.live.scores["champion"].drift_at + 601) is None

    heartbeat = Heartbeat(worker_settings, None)
    heartbeat.processor = processor
    status = heartbeat.beat()
    assert status.drift and status.live["champion"]["events"] == 4500
    verdict = assess({"redis": "up"}, [status], datetime.now(UTC), HealthThresholds())
    assert verdict.status == "degraded"
    assert any("drift" in reason for reason in verdict.reasons)
    assert REGISTRY.get_sample_value("reelstream_worker_live_drift") == 1.0
    assert REGISTRY.get_sample_value(
        "reelstream_worker_live_metric", {"role": "challenger", "metric": "rmse"}
    ) == status.live["challenger"]["rmse"]
    heartbeat._client.close()
