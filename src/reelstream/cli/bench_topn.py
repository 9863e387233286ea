"""``reelstream bench topn``: learning and top-N of the online model vs River's ``BiasedMF``.

The same random ratings are learned by our model and by River's ``BiasedMF`` with the same
settings and seed (so their factors are equal); then one top-N of ours (the full ranking
blend) is timed beside River's ``predict_one`` loop over every movie.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import typer

from reelstream.cli._common import console, group

__all__ = ["register", "TopNBench", "bench_topn"]


@dataclass
class TopNBench:
    movies: int
    factors: int
    vectorised_us: float
    naive_us: float
    same_result: bool
    learn_us: float = float("nan")
    core_learn_us: float = float("nan")
    river_learn_us: float = float("nan")

    @property
    def ratio(self) -> float:
        return self.naive_us / self.vectorised_us


def bench_topn(
    movies: int = 10_000,
    users: int = 500,
    ratings: int = 50_000,
    n: int = 10,
    repeat: int = 2000,
    naive_repeat: int = 5,
    seed: int = 42,
) -> TopNBench:
    """Learn random ratings on every movie (timed, ours and River's), then time
    ``recommend`` and River's ``predict_one`` loop."""
    import numpy as np
    from river import optim, reco

    from reelstream.models import NumpyBiasedMF, OnlineRecommender, load_online_config, top_n

    rng = np.random.default_rng(seed)
    config = load_online_config()
    model = OnlineRecommender(config)
    mf = reco.BiasedMF(
        n_factors=config.n_factors,
        bias_optimizer=optim.SGD(config.bias_lr),
        latent_optimizer=optim.SGD(config.latent_lr),
        loss=optim.losses.Squared(),
        l2_bias=config.l2_bias,
        l2_latent=config.l2_latent,
        weight_initializer=optim.initializers.Zeros(),
        latent_initializer=optim.initializers.Normal(0.0, config.init_sigma, seed=config.seed),
        clip_gradient=config.clip_gradient,
    )
    # Every movie rated once, then random ratings; same code path as the worker.
    user_ids = rng.integers(1, users + 1, size=movies + ratings).tolist()
    movie_ids = np.concatenate([np.arange(1, movies + 1), rng.integers(1, movies + 1, ratings)])
    values = (rng.integers(1, 11, size=movies + ratings) / 2).tolist()
    events = list(zip(user_ids, movie_ids.tolist(), values, strict=True))
    start = time.perf_counter()
    for user, movie, y in events:
        model.learn_one(user, movie, y)
    learn_us = (time.perf_counter() - start) / len(events) * 1e6
    start = time.perf_counter()
    for user, movie, y in events:
        mf.learn_one(user, movie, y)
    river_learn_us = (time.perf_counter() - start) / len(events) * 1e6
    # The MF step alone (our model's core), on item rows as the model feeds it.
    core = NumpyBiasedMF(
        config.n_factors, config.bias_lr, config.latent_lr, config.l2_bias, config.l2_latent,
        0.0, config.init_sigma, config.seed, config.clip_gradient,
    )
    rows = [(user, model.index.get(movie), y) for user, movie, y in events]
    start = time.perf_counter()
    for user, row, y in rows:
        core.learn_one(user, row, y)
    core_learn_us = (time.perf_counter() - start) / len(events) * 1e6

    probe = [int(u) for u in rng.integers(1, users + 1, size=repeat)]
    timings = []
    for user in probe:
        start = time.perf_counter()
        model.recommend(user, n)
        timings.append(time.perf_counter() - start)

    ids = model.index.ids.tolist()
    naive, same = [], True
    for user in probe[:naive_repeat]:
        rated = {ids[r] for r in model.rated.rows(user).tolist()}
        start = time.perf_counter()
        scores = {m: mf.predict_one(user, m) for m in ids if m not in rated}
        best = sorted(scores, key=scores.__getitem__, reverse=True)[:n]
        naive.append(time.perf_counter() - start)
        # The naive loop ranks by River's predicted rating: compare with our MF scores.
        rows = top_n(model.mf_scores(user), n, model.rated.rows(user))
        same &= best == model.index.ids[rows].tolist()
    return TopNBench(
        movies=len(ids),
        factors=model.n_factors,
        vectorised_us=statistics.median(timings) * 1e6,
        naive_us=statistics.median(naive) * 1e6,
        same_result=same,
        learn_us=learn_us,
        core_learn_us=core_learn_us,
        river_learn_us=river_learn_us,
    )


def register(app: typer.Typer) -> None:
    bench = group(app, "bench", "Benchmarks.")

    @bench.command("topn")
    def topn(
        movies: int = typer.Option(10_000, min=10, help="Number of movies in the catalogue."),
        users: int = typer.Option(500, min=1),
        ratings: int = typer.Option(50_000, min=0, help="Random ratings learned beyond one per movie."),
        n: int = typer.Option(10, min=1, help="N of the top-N."),
        repeat: int = typer.Option(2000, min=1, help="Top-N calls timed."),
        naive_repeat: int = typer.Option(5, min=1, help="predict_one loops timed."),
        seed: int = typer.Option(42),
    ) -> None:
        """Time one top-N over all movies, beside the naive River predict_one loop."""
        result = bench_topn(movies, users, ratings, n, repeat, naive_repeat, seed)
        console.print(
            f"learn_one: River BiasedMF {result.river_learn_us:,.1f} µs/event; our MF step "
            f"[bold]{result.core_learn_us:,.1f} µs[/] "
            f"({result.river_learn_us / result.core_learn_us:,.1f}× faster); our whole model "
            f"{result.learn_us:,.1f} µs (+ trending, transitions, rating blend, rated sets)"
        )
        console.print(
            f"top-{n} over {result.movies:,} movies ({result.factors} factors): "
            f"vectorised [bold]{result.vectorised_us:,.1f} µs[/] (median of {repeat}), "
            f"River predict_one loop {result.naive_us:,.0f} µs (median of {naive_repeat}) "
            f"→ [bold]{result.ratio:,.0f}×[/] faster; same top-{n}: {result.same_result}"
        )
