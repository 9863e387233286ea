"""Test-then-learn figures of one model on the live stream, over the last N events.

For every event, before the model learns it, the rating the model predicted and the list the
user was being served are scored against what the user did: RMSE and MAE (River's
``metrics`` in ``utils.Rolling`` windows), HR@k and NDCG@k of the list (running sums over
the same window: a ``utils.Rolling(stats.Mean)`` each cost three times as much). A
River ``drift.ADWIN`` watches the absolute error; a rise it detects is a drift once the mean
error of the next ``drift_confirm_events`` events stands ``drift_min_shift`` stars above the
level before it: ADWIN alone also reports a model that learns (its error falls) and the short
bursts of one prolific rater (docs/models.md).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence

from river import drift, metrics, utils

__all__ = ["LiveScores", "merge_live", "list_scores"]

_DISCOUNTS = [1.0 / math.log2(rank + 2) for rank in range(100)]


def list_scores(served: Sequence[int] | None, item: int, k: int) -> tuple[float, float]:
    """``(hit, ndcg)`` of the list ``served`` for the movie the user then rated."""
    if served:
        top = served[:k]
        if item in top:
            return 1.0, _DISCOUNTS[top.index(item)]
    return 0.0, 0.0


class LiveScores:
    """Rolling RMSE, MAE, HR@k and NDCG@k of one model, and a drift detector on its error.

    Examples
    --------

    >>> live = LiveScores(window=3)
    >>> for y, pred, served, item in [(4, 3.5, [7, 8], 8), (2, 3.0, [7], 9), (5, 4.0, [9], 9)]:
    ...     live.update(y, pred, served, item)
    >>> s = live.snapshot()
    >>> s["events"], round(s["rmse"], 4), round(s["mae"], 4), round(s["hr@10"], 4)
    (3, 0.866, 0.8333, 0.6667)
    >>> live.update(1, 5.0, [], 1)  # the first event leaves the window
    >>> live.snapshot()["window"], round(live.snapshot()["hr@10"], 4)
    (3, 0.3333)

    """

    def __init__(
        self,
        window: int = 10_000,
        k: int = 10,
        drift_delta: float = 0.002,
        drift_min_shift: float = 0.4,
        drift_confirm_events: int = 500,
    ) -> None:
        self.window = window
        self.k = k
        # RMSE as the root of a rolling MSE: after many reverts the window's mean square can
        # round to a tiny negative number, whose root River would return as a complex one.
        self.mse = utils.Rolling(metrics.MSE, window_size=window)
        self.mae = utils.Rolling(metrics.MAE, window_size=window)
        self._gains: deque[float] = deque()  # NDCG gain per event in the window (0: a miss)
        self._hits = 0.0
        self._gain = 0.0
        self.detector = drift.ADWIN(delta=drift_delta)
        self.drift_min_shift = drift_min_shift  # stars of absolute error: smaller rises are noise
        self.drift_confirm_events = drift_confirm_events
        self._baseline: float | None = None  # the error's level before a rise ADWIN detected
        self._confirm_sum, self._confirm_n = 0.0, 0
        self.events = 0
        self.drifts = 0
        self.drift_at: float | None = None  # wall clock of the last detected change
        self.drift_note: str | None = None

    def update(self, y: float, y_pred: float, served: Sequence[int] | None, item: int) -> None:
        """Score one event (before the model learns it)."""
        self.mse.update(y, y_pred)
        self.mae.update(y, y_pred)
        hit, gain = list_scores(served, item, self.k)
        gains = self._gains
        if len(gains) == self.window:
            old = gains.popleft()
            self._gain -= old
            self._hits -= old > 0.0
        gains.append(gain)
        self._gain += gain
        self._hits += hit
        self.events += 1
        detector = self.detector
        error = abs(y - y_pred)
        before = detector.estimation
        detector.update(error)
        baseline = self._baseline
        if baseline is not None:  # a rise to confirm: the error must stay up
            self._confirm_sum += error
            self._confirm_n += 1
            if self._confirm_n >= self.drift_confirm_events:
                level = self._confirm_sum / self._confirm_n
                self._baseline = None
                if level - baseline >= self.drift_min_shift:
                    self.drifts += 1
                    self.drift_at = time.time()
                    self.drift_note = (
                        f"live absolute error rose from {baseline:.2f} to {level:.2f} over "
                        f"{self._confirm_n:,} events (ADWIN, event {self.events:,})"
                    )
        elif detector.drift_detected and detector.estimation > before:
            self._baseline, self._confirm_sum, self._confirm_n = before, 0.0, 0

    def snapshot(self) -> dict:
        """Plain numbers (JSON, Prometheus, the worker's status record)."""
        k, n = self.k, len(self._gains)
        return {
            "events": self.events,
            "window": n,
            "rmse": math.sqrt(max(self.mse.get(), 0.0)),
            "mae": max(self.mae.get(), 0.0),
            f"hr@{k}": self._hits / n if n else 0.0,
            f"ndcg@{k}": self._gain / n if n else 0.0,
            "drifts": self.drifts,
            "drift_at": self.drift_at,
            "drift": self.drift_note,
        }


def merge_live(snapshots: Iterable[Mapping]) -> dict | None:
    """Several workers' snapshots of one model as one: their windows pooled (RMSE through
    the mean squared error, the rest as means weighted by window size)."""
    parts = [s for s in snapshots if s and s.get("window")]
    if not parts:
        return None
    n = sum(s["window"] for s in parts)
    merged = {
        "events": sum(s["events"] for s in parts),
        "window": n,
        "rmse": math.sqrt(sum(s["window"] * s["rmse"] ** 2 for s in parts) / n),
        "workers": len(parts),
        "drifts": sum(s.get("drifts", 0) for s in parts),
    }
    for key in parts[0]:
        if key.startswith(("hr@", "ndcg@")) or key == "mae":
            merged[key] = sum(s["window"] * s[key] for s in parts) / n
    return merged
