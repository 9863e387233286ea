"""Top-N per batch over catalogues of growing size: the worker's per-list cost.

For each catalogue size, a model learns ``ratings`` random events over every movie (each
movie once, then Zipf-popular movies, users rating in sessions so transitions have rows to
read), then the lists of one batch's users are computed as the worker did per user
(``recommend`` each, BLAS as configured) and as it does now (``recommend_many``, one call
per batch, one BLAS thread), interleaved over ``rounds`` batches. Wall and CPU time (this
thread) per list; same lists checked.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np

from reelstream.models import OnlineRecommender, load_online_config

__all__ = ["BatchTopN", "bench_topn_batch"]


@dataclass(frozen=True)
class BatchTopN:
    movies: int
    users_per_batch: int
    per_user_wall_us: float
    per_user_cpu_us: float
    batch_wall_us: float  # per list, recommend_many
    batch_cpu_us: float
    same_lists: bool


def _model(movies: int, ratings: int, users: int, seed: int) -> OnlineRecommender:
    rng = np.random.default_rng(seed)
    model = OnlineRecommender(load_online_config())
    for movie in range(1, movies + 1):
        model.learn_one(int(rng.integers(1, users + 1)), movie, float(rng.integers(1, 11)) / 2)
    popular = np.minimum(rng.zipf(1.3, ratings), movies)
    session_users = np.repeat(rng.integers(1, users + 1, ratings // 20 + 1), 20)[:ratings]
    values = rng.integers(1, 11, ratings) / 2
    for user, movie, y in zip(session_users.tolist(), popular.tolist(), values.tolist(), strict=True):
        model.learn_one(user, movie, y)
    return model


def bench_topn_batch(
    catalogues: list[int],
    users_per_batch: int = 458,
    ratings: int = 200_000,
    users: int = 11_000,
    rounds: int = 5,
    n: int = 20,
    seed: int = 7,
) -> list[BatchTopN]:
    from threadpoolctl import threadpool_info

    del threadpool_info  # imported to fail early when missing
    out = []
    for movies in catalogues:
        model = _model(movies, ratings, users, seed)
        known = list(model.rated.users())
        rng = np.random.default_rng(seed)
        one_wall, one_cpu, many_wall, many_cpu, same = [], [], [], [], True
        for _ in range(rounds):
            batch = rng.choice(known, size=min(users_per_batch, len(known)), replace=False).tolist()
            w, c = time.perf_counter(), time.thread_time()
            singles = {u: model.recommend(u, n) for u in batch}
            one_wall.append((time.perf_counter() - w) / len(batch))
            one_cpu.append((time.thread_time() - c) / len(batch))
            w, c = time.perf_counter(), time.thread_time()
            lists = model.recommend_many(batch, n)
            many_wall.append((time.perf_counter() - w) / len(batch))
            many_cpu.append((time.thread_time() - c) / len(batch))
            same &= all([m for m, _ in lists[u]] == [m for m, _ in singles[u]] for u in batch)
        out.append(BatchTopN(
            movies=len(model.index),
            users_per_batch=users_per_batch,
            per_user_wall_us=statistics.median(one_wall) * 1e6,
            per_user_cpu_us=statistics.median(one_cpu) * 1e6,
            batch_wall_us=statistics.median(many_wall) * 1e6,
            batch_cpu_us=statistics.median(many_cpu) * 1e6,
            same_lists=same,
        ))
    return out
