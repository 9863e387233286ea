"""promote_if: live on the embedded stack: a real worker shadows the registry's challenger
beside the champion, both report live figures after N events, and the worker's live gate
promotes the challenger only if it won, with the numbers in MLflow (sqlite store)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
import yaml
from mlflow import MlflowClient

from producers.movielens_replay import replay
from reelstream.champion_channel import announce_challenger
from reelstream.models.batch_als import BatchParams
from reelstream.movielens import load_ratings
from reelstream.streaming.process import WorkerProcess
from reelstream.streaming.promotion import announce_promotion, promotions_channel
from reelstream.training.champion import champion_version
from reelstream.training.data import load_params, postgres_snapshot
from reelstream.training.live_gate import PromotionPolicy
from reelstream.training.live_settle import challenger_version
from reelstream.training.run import retrain_once
from reelstream.worker_status import read_statuses
from tests.stream_processor.worker_helpers import stored, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[3]
FIRST, SECOND = 3000, 2500
LIVE = PromotionPolicy(promote_if="live", live_min_events=SECOND)  # settled after them all


@pytest.fixture
def settings(isolated, tmp_path):
    from reelstream.kafka import ensure_topics

    ensure_topics(isolated, {isolated.ratings_topic: 2, isolated.dlq_topic: 1})
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["promotion"] = LIVE.model_dump()
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return isolated.model_copy(
        update={
            "mlflow_tracking_uri": f"sqlite:///{tmp_path}/mlflow.db",
            "mlflow_experiment": "live-gate-test",
            "registered_model_name": "live-gate-mf",
            "params": tmp_path / "params.yaml",
            "live_window": 1000,
            "live_gate_every_s": 1.0,
        }
    )


def _live(settings) -> dict:
    client = redis.Redis.from_url(settings.redis_url)
    try:
        statuses = read_statuses(client, settings.redis_prefix)
    finally:
        client.close()
    return statuses[0].live if statuses else {}


def test_worker_shadows_the_challenger_and_the_live_gate_settles_it(settings, movielens_small, tmp_path):
    ratings = load_ratings(movielens_small).sort_values("timestamp", kind="stable")
    batch = load_params(REPO / "params.yaml")
    pubsub = redis.Redis.from_url(settings.redis_url)
    with WorkerProcess(settings, tmp_path / "worker.log") as worker:
        worker.wait_ready()
        wait_for(lambda: pubsub.pubsub_numsub(promotions_channel(settings))[0][1] >= 1, 120,
                 "the worker to subscribe to promotions")
        replay(settings, ratings.iloc[:FIRST])
        wait_for(lambda: stored(settings) == FIRST, 90, f"{FIRST} stored events")
        snapshot = postgres_snapshot(settings.postgres_dsn, datetime(2030, 1, 1, tzinfo=UTC))

        first, _ = retrain_once(snapshot, settings, "2030-01-01", batch, LIVE)
        assert first.promoted  # the first model serves: nothing to compare it with
        announce_promotion(settings, first.version)
        wait_for(lambda: _live(settings).get("champion", {}).get("version") == "champion-v1+online",
                 120, "the worker to adopt champion v1")

        other = BatchParams(**{**batch.to_dict(), "factors": batch.factors // 2})  # another model
        second, _ = retrain_once(snapshot, settings, "2030-01-02", other, LIVE)
        assert not second.promoted and challenger_version(settings) == second.version == "2"
        announce_challenger(settings, second.version, "registered")
        wait_for(lambda: "challenger" in _live(settings), 120, "the worker to shadow v2")

        replay(settings, ratings.iloc[FIRST : FIRST + SECOND])
        seen: list[dict] = []  # the worker's live figures while the gate has not decided

        def settled() -> bool:
            if (live := _live(settings)).get("challenger"):
                seen.append(live)
            return challenger_version(settings) is None

        wait_for(settled, 90, "the live gate to decide")  # once the challenger saw SECOND
    pubsub.close()
    both = [s for s in seen if s["challenger"]["events"] >= 1000]
    assert both, "no status with both models' figures after 1,000 events"
    for role in ("champion", "challenger"):
        assert 0.0 < both[-1][role]["rmse"] < 2.0 and 0.0 <= both[-1][role]["hr@10"] <= 1.0
        assert both[-1][role]["window"] == 1000  # REELSTREAM_LIVE_WINDOW

    client = MlflowClient(settings.mlflow_tracking_uri)
    metrics = client.get_run(second.run_id).data.metrics
    won = metrics["live_challenger_hr_at_10"] > metrics["live_champion_hr_at_10"]
    assert metrics["live_events"] == 1000 and metrics["live_challenger_events"] >= SECOND
    assert champion_version(settings) == ("2" if won else "1")
    tag = client.get_model_version(settings.registered_model_name, "2").tags["live_gate"]
    assert tag.startswith("promote" if won else "reject")
