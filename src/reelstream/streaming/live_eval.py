"""Every model the worker runs, judged on the live stream before it learns each event.

The serving model (the champion, warm-started or not) is scored on what it predicted and on
the list the user was being served (the last list written to Redis for them, or the popular
list). A shadow challenger, when ``params.yaml`` names one (``challenger:``, settings of the
``online:`` section to change), learns the same events and serves nothing; its lists are
computed when the champion's are written, and kept here only to score the next events.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence

from reelstream.evaluation.live import LiveScores
from reelstream.models.online import OnlineRecommender
from reelstream.streaming.metrics import LIVE_DRIFTS, LIVE_METRIC, LIVE_SECONDS

__all__ = ["LiveEvaluation", "ROLES"]

log = logging.getLogger(__name__)

ROLES = ("champion", "challenger")


class LiveEvaluation:
    """Test-then-learn figures of the serving model and of an optional shadow challenger."""

    def __init__(
        self,
        window: int,
        k: int = 10,
        challenger: OnlineRecommender | None = None,
        drift_min_shift: float = 0.4,
    ) -> None:
        self.k = k
        self.drift_min_shift = drift_min_shift
        self.window = window
        self.scores = {"champion": LiveScores(window, k, drift_min_shift=drift_min_shift)}
        self.served: dict[int, list[int]] = {}  # user -> movie ids of their list in Redis
        self.popular: list[int] = []
        self.challenger = challenger
        self.challenger_lists: dict[int, list[int]] = {}
        self.challenger_popular: list[int] = []
        if challenger is not None:
            self.scores["challenger"] = LiveScores(window, k, drift_min_shift=drift_min_shift)
        self.seconds = dict.fromkeys(ROLES, 0.0)  # CPU time each role's evaluation took

    def set_challenger(self, challenger: OnlineRecommender | None) -> None:
        """Shadow ``challenger`` from now on (None: no challenger); its figures start afresh."""
        self.challenger = challenger
        self.challenger_lists, self.challenger_popular = {}, []
        self.seconds["challenger"] = 0.0
        if challenger is None:
            self.scores.pop("challenger", None)
        else:
            self.scores["challenger"] = LiveScores(
                self.window, self.k, drift_min_shift=self.drift_min_shift
            )

    def learned(self, events: Sequence[tuple[int, int, float, float | None, float]]) -> None:
        """The champion just learned ``events`` in order, each ``(user, movie, rating, unix
        seconds, what the champion predicted before learning it)``: score the predictions and
        the lists the users were served (unchanged within a batch); then the challenger
        learns the events and is scored the same way. Costs are measured per batch in thread
        CPU time (on a shared machine, wall time would count the other processes' turns).
        Never raises: judging the models must not stop the champion from learning."""
        try:
            self._learned(events)
        except Exception:  # noqa: BLE001
            log.exception("live evaluation of a batch of %d events failed", len(events))

    def _learned(self, events: Sequence[tuple[int, int, float, float | None, float]]) -> None:
        t0 = time.thread_time()
        served, popular = self.served, self.popular
        update = self.scores["champion"].update
        for user, movie, y, _, predicted in events:
            update(y, predicted, served.get(user) or popular, movie)
        t1 = time.thread_time()
        self.seconds["champion"] += t1 - t0
        challenger = self.challenger
        if challenger is not None:
            lists, popular = self.challenger_lists, self.challenger_popular
            update = self.scores["challenger"].update
            for user, movie, y, ts, _ in events:
                challenger.learn_one(user, movie, y, ts)
                update(y, challenger.last_prediction, lists.get(user) or popular, movie)
            self.seconds["challenger"] += time.thread_time() - t1

    def lists_written(
        self, lists: Mapping[int, list[tuple[int, float]]], popular: Iterable[tuple[int, float]]
    ) -> None:
        """The champion's lists just written to Redis; the challenger's for the same users."""
        k = self.k
        for user, items in lists.items():
            self.served[user] = [movie for movie, _ in items[:k]]
        self.popular = [movie for movie, _ in list(popular)[:k]]
        challenger = self.challenger
        if challenger is not None:
            t0 = time.thread_time()
            theirs = challenger.recommend_many(lists, k)
            for user, items in theirs.items():
                self.challenger_lists[user] = [movie for movie, _ in items]
            self.challenger_popular = [movie for movie, _ in challenger.popular(k)]
            self.seconds["challenger"] += time.thread_time() - t0

    def snapshot(self, champion_version: str) -> dict:
        """Per role: its version and live figures (what the worker's status record carries)."""
        out = {}
        for role, scores in self.scores.items():
            model_version = (
                champion_version if role == "champion" else self.challenger.version  # type: ignore[union-attr]
            )
            out[role] = {"version": model_version, **scores.snapshot()}
        return out

    def export(self) -> None:
        """Set the Prometheus gauges from the current figures."""
        for role, scores in self.scores.items():
            snap = scores.snapshot()
            for name in ("rmse", "mae", f"hr@{self.k}", f"ndcg@{self.k}"):
                LIVE_METRIC.labels(role, name.replace("@", "_at_")).set(snap[name])
            LIVE_DRIFTS.labels(role).set(snap["drifts"])
            LIVE_SECONDS.labels(role).set(self.seconds[role])

    def drift(self, hold_s: float, now: float | None = None) -> str | None:
        """The serving model's drift note while younger than ``hold_s``, else None."""
        scores = self.scores["champion"]
        if scores.drift_at is None or (now or time.time()) - scores.drift_at > hold_s:
            return None
        return scores.drift_note
