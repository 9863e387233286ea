"""Two real worker processes sharing item state: quality close to one worker's (issue 16)."""

from __future__ import annotations

import math
import re
import threading
import time

import pytest

from producers.movielens_replay import replay
from reelstream.evaluation.stream import read_ratings
from reelstream.kafka import ensure_topics
from reelstream.models import OnlineRecommender, load_online_config
from reelstream.movielens import load_ratings
from reelstream.store import EventStore
from reelstream.streaming.process import WorkerProcess
from tests.stream_processor.worker_helpers import stored, wait_for

pytestmark = pytest.mark.slow

LEARN, HELD_OUT = 40_000, 10_000


def _quality(models_for, held_out) -> tuple[float, float]:
    """RMSE and HR@10 (ratings >= 4) of frozen models on the events after the learned ones,
    each event scored by the model that owns its user."""
    squared, hits, tried = 0.0, 0, 0
    for user, movie, y, _ in held_out:
        model = models_for(user)
        squared += (y - model.predict_one(user, movie)) ** 2
        if y >= 4.0:
            tried += 1
            hits += any(m == movie for m, _ in model.recommend(user, 10))
    return math.sqrt(squared / len(held_out)), hits / tried


def test_two_workers_sharing_items_learn_as_well_as_one(isolated, movielens_small, tmp_path):
    settings = isolated
    ensure_topics(settings, {settings.ratings_topic: 4, settings.dlq_topic: 1})
    events = read_ratings(movielens_small)
    learn, held_out = events[:LEARN], events[LEARN : LEARN + HELD_OUT]
    ids = [f"{settings.worker_id}-{i}" for i in range(2)]
    workers = [
        WorkerProcess(settings.model_copy(update={"worker_id": wid}), tmp_path / f"{wid}.log").start()
        for wid in ids
    ]
    try:
        for worker in workers:
            worker.wait_ready()
        wait_for(
            lambda: all("Setting newly assigned partitions" in w.log_text() for w in workers),
            60, "both workers to own partitions",
        )
        publisher = threading.Thread(
            target=replay, args=(settings, load_ratings(movielens_small)),
            kwargs={"limit": LEARN, "speed": None},
        )
        publisher.start()
        publisher.join(300)
        wait_for(lambda: stored(settings) == LEARN, 300, f"all {LEARN} events stored")
        time.sleep(3)  # the last deltas: an idle worker applies what arrives every 0.5 s
    finally:
        for worker in workers:
            worker.stop(60)

    logs = [w.log_text() for w in workers]
    totals = [re.search(r"item sync: applied (\d+) deltas \((\d+) events\).*?(\d+) ms", text) for text in logs]
    assert all(totals), "each worker logs its item sync totals on shutdown"
    applied = [int(t.group(2)) for t in totals]
    # each worker applied the other's events: together, every event not learned locally
    assert all(a > 0 for a in applied) and sum(applied) >= 0.9 * LEARN
    print(f"\nitem deltas: events applied per worker {applied}; oldest delta on arrival "
          f"{[int(t.group(3)) for t in totals]} ms")

    with EventStore(settings.postgres_dsn) as store:
        models = [OnlineRecommender.from_bytes(store.load_checkpoint(wid).model) for wid in ids]
    assert sum(m.events_learned for m in models) == LEARN  # each event learned once, by its owner
    owner = {u: m for m in models for u in m.rated.users()}
    shared = _quality(lambda user: owner.get(user, models[0]), held_out)

    config = load_online_config()
    one = OnlineRecommender(config)  # the bound: one worker learning everything
    one.learn_many(learn)
    single = _quality(lambda user: one, held_out)
    # and what the same two workers would know without sharing: two independent copies,
    # each learning its own users' events (the same split as the real run)
    index = {u: i for i, m in enumerate(models) for u in m.rated.users()}
    copies = [OnlineRecommender(config), OnlineRecommender(config)]
    for user, movie, y, ts in learn:
        copies[index[user]].learn_one(user, movie, y, ts)
    alone = _quality(lambda user: copies[index.get(user, 0)], held_out)
    print(f"held-out RMSE / HR@10: one worker {single[0]:.4f} / {single[1]:.4f}, two sharing "
          f"{shared[0]:.4f} / {shared[1]:.4f}, two independent {alone[0]:.4f} / {alone[1]:.4f}")
    assert shared[0] <= single[0] + 0.01  # margin: the workers' deltas arrive a batch late
    assert shared[0] < alone[0]
    # ~4,500 held-out hits to find: HR@10 varies by ±10 % on a quiet machine (0.99-1.0× one
    # worker here), and one run inside the loaded full suite gave 0.77×
    assert shared[1] >= 0.7 * single[1]
