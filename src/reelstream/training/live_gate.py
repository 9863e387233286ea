"""Promotion judged on the live stream: a registered version shadows the champion in every
worker (the ``challenger`` alias) and becomes champion only if it serves today's users better.

``promotion.promote_if`` in ``params.yaml``:

* ``offline`` — a new version is promoted when it beats the champion on the held-out split;
* ``live`` — a new version becomes the ``challenger``; it is promoted once it has seen
  ``live_min_events`` events and its live ``live_metric`` beats the champion's by more than
  ``live_min_gain`` over the same last events, and dropped when it does not;
* ``both`` — the offline gate first, then the live one.

The numbers the decision was made on are logged to the version's MLflow run
(``live_champion_*``, ``live_challenger_*``, ``live_events``) and its ``live_gate`` tag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from reelstream.params import read_section

__all__ = [
    "CHALLENGER",
    "PromotionPolicy",
    "LiveVerdict",
    "load_promotion_policy",
    "live_verdict",
]

CHALLENGER = "challenger"
_LOWER_IS_BETTER = ("rmse", "mae")


class PromotionPolicy(BaseModel):
    """The ``promotion:`` section of ``params.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    promote_if: Literal["offline", "live", "both"] = "offline"
    live_metric: Literal["hr@10", "ndcg@10", "rmse", "mae"] = "hr@10"
    live_min_events: int = Field(5000, ge=1, description="Events the challenger must have seen.")
    live_min_gain: float = Field(0.0, ge=0, description="Margin the challenger must win by.")

    @property
    def needs_live(self) -> bool:
        return self.promote_if in ("live", "both")


class LiveVerdict(BaseModel):
    """``decision``: ``promote``, ``reject`` or ``wait`` (not enough events, or no figures)."""

    decision: Literal["promote", "reject", "wait"]
    reason: str
    numbers: dict[str, float] = Field(default_factory=dict)


def load_promotion_policy(path: str | Path | None = None) -> PromotionPolicy:
    """The ``promotion:`` section of the parameters file (``path``, else ``REELSTREAM_PARAMS``,
    else the packaged defaults)."""
    return PromotionPolicy(**read_section("promotion", path))


def live_verdict(
    policy: PromotionPolicy, champion: dict | None, challenger: dict | None
) -> LiveVerdict:
    """Decide on merged live figures (``reelstream.evaluation.live.merge_live`` of each role).

    Examples
    --------

    >>> policy = PromotionPolicy(promote_if="live", live_min_events=100)
    >>> champ = {"events": 500, "window": 200, "hr@10": 0.10}
    >>> live_verdict(policy, champ, {"events": 50, "window": 50, "hr@10": 0.3}).decision
    'wait'
    >>> live_verdict(policy, champ, {"events": 150, "window": 150, "hr@10": 0.12}).reason
    'live hr@10 0.1200 > champion 0.1000 over 150 events'

    """
    if champion is None or challenger is None:
        return LiveVerdict(decision="wait", reason="no live figures of both models yet")
    metric = policy.live_metric
    seen = int(challenger.get("events", 0))
    if seen < policy.live_min_events:
        return LiveVerdict(
            decision="wait",
            reason=f"challenger has seen {seen} of {policy.live_min_events} events",
        )
    ours, theirs = float(challenger[metric]), float(champion[metric])
    gain = theirs - ours if metric in _LOWER_IS_BETTER else ours - theirs
    wins = gain > policy.live_min_gain
    window = int(min(challenger.get("window", seen), champion.get("window", seen)))
    sign = (">" if wins else "<=") if metric not in _LOWER_IS_BETTER else ("<" if wins else ">=")
    key = metric.replace("@", "_at_")
    return LiveVerdict(
        decision="promote" if wins else "reject",
        reason=f"live {metric} {ours:.4f} {sign} champion {theirs:.4f} over {window} events",
        numbers={
            f"live_challenger_{key}": ours,
            f"live_champion_{key}": theirs,
            "live_events": float(window),
            "live_challenger_events": float(seen),
        },
    )
