"""Prequential evaluation of N workers: events routed by user, item state shared or not.

What ``N`` workers do, without Kafka: each event goes to the model copy that owns its user
(the Kafka partition of its key, one partition per worker), which tests then learns it as in
:func:`reelstream.evaluation.stream.prequential`. With sharing, the copies exchange item
state exactly as the workers do (:mod:`reelstream.item_sync`: each publishes its
:class:`ItemDelta` after every batch, the others add it with :func:`apply_delta`), at the
workers' cadence: a batch of ``batch_events`` events per worker, so a window of
``batch_events × N`` stream events between two exchanges, and a delta applied ``lag``
windows after it was published (one: the batch in flight while it travels). Without
sharing, the copies are independent until the next promotion (today's behaviour).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable

from kafka.partitioner.default import murmur2

from reelstream.evaluation.stream import StreamResult
from reelstream.item_sync import ItemJournal, apply_delta
from reelstream.models import OnlineRecommender

__all__ = ["owner", "prequential_workers"]


def owner(user: int, workers: int) -> int:
    """The worker owning ``user``: the Kafka partition of its key, one partition per worker."""
    return (murmur2(str(user).encode()) & 0x7FFFFFFF) % workers


def prequential_workers(
    make_model: Callable[[], OnlineRecommender],
    events: Iterable[tuple[int, int, float, float | None]],
    workers: int,
    share: bool = True,
    k: int = 10,
    hr_every: int = 10,
    hr_min_rating: float = 4.0,
    window: int = 120,
    lag: int = 1,
) -> StreamResult:
    """Test-then-learn over ``events`` with ``workers`` model copies; one combined result."""
    models = [make_model() for _ in range(workers)]
    if share and workers > 1:
        for i, model in enumerate(models):
            model.item_journal = ItemJournal(f"worker-{i}")
    in_flight: deque[list] = deque()
    result = StreamResult(f"{workers} workers, {'shared' if share else 'independent'} items")
    owners: dict[int, OnlineRecommender] = {}
    n_high = 0
    started = time.perf_counter()
    for n, (user, item, y, ts) in enumerate(events, start=1):
        model = owners.get(user)
        if model is None:
            model = owners[user] = models[owner(user, workers)]
        y_pred = model.predict_one(user, item)
        if y >= hr_min_rating:
            n_high += 1
            if n_high % hr_every == 0:
                result.n_hr += 1
                result.hits += any(movie == item for movie, _ in model.recommend(user, k))
        model.learn_one(user, item, y, ts)
        result.n_events += 1
        result.squared_error += (y - y_pred) ** 2
        result.absolute_error += abs(y - y_pred)
        if share and workers > 1 and n % window == 0:
            _exchange(models, in_flight, lag)
    result.seconds = time.perf_counter() - started
    return result


def _exchange(models: list[OnlineRecommender], in_flight: deque, lag: int) -> None:
    """Every copy publishes its delta; the deltas published ``lag`` windows ago arrive."""
    in_flight.append([model.item_journal.collect(model) for model in models])
    while len(in_flight) > lag:
        arrived = in_flight.popleft()
        for i, model in enumerate(models):
            for j, delta in enumerate(arrived):
                if j != i and delta is not None:
                    apply_delta(model, delta)
