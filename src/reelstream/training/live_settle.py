"""Settle the ``challenger`` alias on live figures: promote it or drop it, with the numbers
logged to its MLflow run (:mod:`reelstream.training.live_gate` decides)."""

from __future__ import annotations

import time

from mlflow.exceptions import MlflowException

from reelstream.settings import Settings
from reelstream.training.champion import champion_version, client_for, promote
from reelstream.training.live_gate import CHALLENGER, LiveVerdict, PromotionPolicy, live_verdict

__all__ = ["challenger_version", "challenger_label", "settle_challenger"]


def challenger_label(version: str) -> str:
    """How a worker names the challenger it shadows (its live figures carry it)."""
    return f"challenger-v{version}"


def challenger_version(settings: Settings, client=None) -> str | None:  # noqa: ANN001
    client = client or client_for(settings)
    try:
        return str(client.get_model_version_by_alias(settings.registered_model_name, CHALLENGER).version)
    except MlflowException:
        return None


def settle_challenger(
    settings: Settings, policy: PromotionPolicy, roles: dict
) -> tuple[str, LiveVerdict] | None:
    """Decide on the challenger from ``roles`` (``GET /models/live``'s merged figures); on a
    decision, log it and promote or drop the version. Returns ``(version, verdict)``, or None
    when there is no challenger."""
    client = client_for(settings)
    name = settings.registered_model_name
    version = challenger_version(settings, client)
    if version is None:
        return None
    theirs = roles.get("challenger")
    if theirs is not None and not str(theirs.get("version", "")).startswith(
        challenger_label(version) + "+"
    ):
        theirs = None  # the workers still shadow an older challenger
    verdict = live_verdict(policy, roles.get("champion"), theirs)
    if verdict.decision == "wait":
        return version, verdict
    run_id = client.get_model_version(name, version).run_id
    if run_id:
        stamp = int(time.time() * 1000)
        for key, value in verdict.numbers.items():
            client.log_metric(run_id, key, value, timestamp=stamp)
        client.set_tag(run_id, "live_gate", f"{verdict.decision}: {verdict.reason}")
    client.set_model_version_tag(name, version, "live_gate", f"{verdict.decision}: {verdict.reason}")
    client.delete_registered_model_alias(name, CHALLENGER)
    if verdict.decision == "promote" and champion_version(settings, client) != version:
        promote(version, settings, reason=verdict.reason)
        if run_id:
            client.set_tag(run_id, "promoted", "true")
    return version, verdict
