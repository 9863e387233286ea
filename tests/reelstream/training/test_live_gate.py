"""promote_if: live — a new version becomes the challenger, and is promoted only when its
live figures beat the champion's over the stated number of events; the numbers go to its
MLflow run (sqlite store)."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from reelstream.models.batch_als import BatchParams
from reelstream.settings import Settings
from reelstream.training import registry
from reelstream.training.live_gate import PromotionPolicy, live_verdict, load_promotion_policy
from reelstream.training.live_settle import challenger_label, challenger_version, settle_challenger
from reelstream.training.pipeline import train_and_evaluate

LIVE = PromotionPolicy(promote_if="live", live_min_events=1000)


def _figures(hr: float, events: int = 2000, version: str = "champion-v1+online") -> dict:
    return {"version": version, "events": events, "window": min(events, 1500), "hr@10": hr,
            "ndcg@10": hr / 2, "rmse": 0.9, "mae": 0.7}


def test_verdict_needs_the_events_then_a_win():
    champ = _figures(0.10)
    assert live_verdict(LIVE, champ, None).decision == "wait"
    assert live_verdict(LIVE, champ, _figures(0.5, events=999)).decision == "wait"
    assert live_verdict(LIVE, champ, _figures(0.11)).decision == "promote"
    assert live_verdict(LIVE, champ, _figures(0.10)).decision == "reject"  # a tie is no win
    margin = LIVE.model_copy(update={"live_min_gain": 0.02})
    assert live_verdict(margin, champ, _figures(0.11)).decision == "reject"
    on_rmse = LIVE.model_copy(update={"live_metric": "rmse"})
    better = {**_figures(0.0), "rmse": 0.8}
    verdict = live_verdict(on_rmse, champ, better)
    assert verdict.decision == "promote" and verdict.numbers["live_challenger_rmse"] == 0.8


def test_policy_from_params(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("promotion:\n  promote_if: both\n  live_min_events: 50\n")
    policy = load_promotion_policy(path)
    assert policy.promote_if == "both" and policy.needs_live and policy.live_min_events == 50
    no_section = tmp_path / "online-only.yaml"
    no_section.write_text("online:\n  n_factors: 4\n")
    assert load_promotion_policy(no_section).promote_if == "offline"


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    tmp = tmp_path_factory.mktemp("mlflow")
    return Settings(mlflow_tracking_uri=f"sqlite:///{tmp}/mlflow.db",
                    mlflow_experiment="live", registered_model_name="live-mf")


def test_live_gated_promotion_happens_only_on_a_win(settings, ratings):
    result = train_and_evaluate(ratings, BatchParams(factors=4, iterations=4))
    first = registry.log_and_register(result, settings, "2024-01-01", policy=LIVE)
    assert first.promoted  # nothing to compare with: the first model serves

    # A new version waits as the challenger, whatever its offline figures.
    second = registry.log_and_register(result, settings, "2024-01-02", policy=LIVE)
    assert not second.promoted and "awaiting the live comparison" in second.reason
    assert challenger_version(settings) == "2" and registry.champion_version(settings) == "1"

    # Workers still shadowing nothing (or another version): no decision.
    assert settle_challenger(settings, LIVE, {"champion": _figures(0.1)})[1].decision == "wait"
    stale = {"champion": _figures(0.1), "challenger": _figures(0.9, version="challenger-v9+online")}
    assert settle_challenger(settings, LIVE, stale)[1].decision == "wait"

    # It loses live: dropped, the champion stays, the numbers are in its run.
    ours = challenger_label("2") + "+online"
    losing = {"champion": _figures(0.12), "challenger": _figures(0.08, version=ours)}
    version, verdict = settle_challenger(settings, LIVE, losing)
    assert (version, verdict.decision) == ("2", "reject")
    assert challenger_version(settings) is None and registry.champion_version(settings) == "1"
    client = MlflowClient(settings.mlflow_tracking_uri)
    run = client.get_run(second.run_id)
    assert run.data.metrics["live_challenger_hr_at_10"] == pytest.approx(0.08)
    assert run.data.metrics["live_champion_hr_at_10"] == pytest.approx(0.12)
    assert run.data.metrics["live_events"] == 1500
    assert run.data.tags["live_gate"].startswith("reject: live hr@10 0.0800 <= champion 0.1200")

    # The next one wins live: promoted, with its numbers and the reason on the version.
    third = registry.log_and_register(result, settings, "2024-01-03", policy=LIVE)
    assert challenger_version(settings) == third.version == "3"
    winning = {"champion": _figures(0.10),
               "challenger": _figures(0.15, version=challenger_label("3") + "+online")}
    version, verdict = settle_challenger(settings, LIVE, winning)
    assert (version, verdict.decision) == ("3", "promote")
    assert registry.champion_version(settings) == "3" and challenger_version(settings) is None
    run = client.get_run(third.run_id)
    assert run.data.metrics["live_challenger_hr_at_10"] == pytest.approx(0.15)
    assert run.data.tags["promoted"] == "true"
    tags = client.get_model_version(settings.registered_model_name, "3").tags
    assert tags["promotion_reason"] == "live hr@10 0.1500 > champion 0.1000 over 1500 events"
