"""Prequential (test-then-learn) evaluation over a ratings stream, without Kafka.

Each event is first used to test every model, then to train it, in timestamp order — so each
prediction is made by a model that has seen only the past, exactly as in the worker:

* **RMSE / MAE** on every event, from ``predict_one`` before ``learn_one``;
* **HR@k** on every ``hr_every``-th event rated ``>= hr_min_rating``: was the movie in the
  user's top-``k`` (``recommend``, already-rated movies excluded), computed before learning it.
  A movie never seen before cannot be recommended and counts as a miss.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reelstream.models.base import Recommender

__all__ = ["StreamResult", "prequential", "read_ratings", "default_models"]


@dataclass
class StreamResult:
    """Prequential figures of one model."""

    name: str
    n_events: int = 0
    n_hr: int = 0
    hits: int = 0
    squared_error: float = 0.0
    absolute_error: float = 0.0
    seconds: float = 0.0
    n_hr_first: int = 0  # HR tests and hits among the first ``split_at`` events
    hits_first: int = 0
    shown: list[list[int]] = field(default_factory=list)  # the top-k of every HR test

    @property
    def rmse(self) -> float:
        return math.sqrt(self.squared_error / self.n_events) if self.n_events else math.nan

    @property
    def mae(self) -> float:
        return self.absolute_error / self.n_events if self.n_events else math.nan

    @property
    def hit_rate(self) -> float:
        return self.hits / self.n_hr if self.n_hr else math.nan

    @property
    def hit_rate_first(self) -> float:
        """HR@k on the first part of the stream (where settings are chosen)."""
        return self.hits_first / self.n_hr_first if self.n_hr_first else math.nan

    @property
    def hit_rate_second(self) -> float:
        """HR@k on the rest of the stream (where chosen settings are reported)."""
        n = self.n_hr - self.n_hr_first
        return (self.hits - self.hits_first) / n if n else math.nan

    @property
    def events_per_s(self) -> float:
        return self.n_events / self.seconds if self.seconds else math.nan


def prequential(
    models: Mapping[str, Recommender],
    events: Iterable[tuple[int, int, float, float | None]],
    k: int = 10,
    hr_every: int = 10,
    hr_min_rating: float = 4.0,
    progress: Callable[[int], None] | None = None,
    split_at: int | None = None,
) -> dict[str, StreamResult]:
    """Test-then-learn every model on ``events`` ``(user, movie, rating, unix_ts)`` in order.

    ``split_at`` (an event count) also counts the HR tests of the first events apart
    (``hit_rate_first``/``hit_rate_second``): settings chosen on the first part are then
    reported on the second.

    Examples
    --------

    >>> from reelstream.models import Popularity
    >>> events = [(1, 10, 4.0, 0), (2, 10, 4.0, 1), (3, 20, 5.0, 2), (3, 10, 4.0, 3)]
    >>> result = prequential({"pop": Popularity()}, events, k=1, hr_every=1)["pop"]
    >>> result.n_hr, result.hits, result.hit_rate
    (4, 2, 0.5)

    Event 1 is a miss (nothing known yet), event 2 a hit (10 is the only movie), event 3 a miss
    (20 is new), event 4 a hit (10 is the top movie user 3 has not rated).
    """
    results = {name: StreamResult(name) for name in models}
    clock = time.perf_counter
    n_high = 0
    for n, (user, item, y, ts) in enumerate(events, start=1):
        test_hr = False
        if y >= hr_min_rating:
            n_high += 1
            test_hr = n_high % hr_every == 0
        for name, model in models.items():
            res = results[name]
            start = clock()
            y_pred = model.predict_one(user, item)
            if test_hr:
                top = model.recommend(user, k)
                res.n_hr += 1
                res.shown.append([movie for movie, _ in top])
                hit = any(movie == item for movie, _ in top)
                res.hits += hit
                if split_at is not None and n <= split_at:
                    res.n_hr_first += 1
                    res.hits_first += hit
            model.learn_one(user, item, y, ts)
            res.seconds += clock() - start
            res.n_events += 1
            res.squared_error += (y - y_pred) ** 2
            res.absolute_error += abs(y - y_pred)
        if progress is not None and n % 10_000 == 0:
            progress(n)
    return results


def shown_list_metrics(
    result: StreamResult, events: list[tuple[int, int, float, float]],
    genres: dict[int, set[str]] | None = None,
) -> dict[str, float]:
    """Coverage, popularity percentile (by rating counts over the whole stream) and genre
    diversity of the lists a model showed at its HR tests
    (:func:`reelstream.evaluation.beyond.list_metrics`)."""
    from reelstream.evaluation.beyond import list_metrics

    movies, counts = np.unique(np.fromiter((e[1] for e in events), dtype=np.int64),
                               return_counts=True)
    lists = [row for row in result.shown if len(row)]
    if not lists:
        return {}
    width = min(len(row) for row in lists)
    cols = np.searchsorted(movies, np.array([row[:width] for row in lists], dtype=np.int64))
    by_column = [genres.get(int(m), set()) for m in movies] if genres is not None else None
    return list_metrics(cols, counts, by_column)


def read_ratings(path: str | Path, limit: int | None = None) -> list[tuple[int, int, float, float]]:
    """``(user, movie, rating, unix_ts)`` of a MovieLens dataset in timestamp order.

    ``path`` is anything :func:`reelstream.movielens.load_ratings` accepts (a folder of any
    standard layout); ``limit`` keeps the first events.
    """
    from reelstream.movielens import load_ratings

    frame = load_ratings(path).sort_values("timestamp", kind="stable")
    if limit is not None:
        frame = frame.head(limit)
    return list(
        zip(
            frame["user_id"].to_numpy(np.int64).tolist(),
            frame["movie_id"].to_numpy(np.int64).tolist(),
            frame["rating"].to_numpy(np.float64).tolist(),
            frame["timestamp"].to_numpy(np.float64).tolist(),
            strict=True,
        )
    )


def default_models(params: str | Path | None = None) -> dict[str, Recommender]:
    """Our online model (``online:`` of ``params``, learning with River) beside the same
    model on the numpy port of River's step, River's tutorial model and popularity."""
    from reelstream.models import OnlineRecommender, Popularity, RiverMF, load_online_config

    config = load_online_config(params)
    return {
        f"online (ours, {config.learner})": OnlineRecommender(config),
        "online, numpy learner": OnlineRecommender(config.model_copy(update={"learner": "numpy"})),
        "river BiasedMF (tutorial)": RiverMF(),
        "popularity": Popularity(),
    }
