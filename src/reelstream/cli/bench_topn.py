"""``reelstream bench topn``: learning and top-N of the online model vs River's ``BiasedMF``.

The same random ratings are learned by our whole model, by our MF step alone and by River's
``BiasedMF`` with the same settings and seed (so their factors are equal), interleaved in
chunks so that all three see the same machine load; per-event times are medians over the
chunks (``time.perf_counter_ns``). Then one top-N of ours (the full ranking blend) is timed
beside River's ``predict_one`` loop over every movie.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import typer

from reelstream.cli._common import console

__all__ = ["app", "TopNBench", "bench_topn"]


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
    chunk: int = 500,
) -> TopNBench:
    """Learn random ratings on every movie (timed: ours, our MF step, River's, interleaved
    by ``chunk`` events), then time ``recommend`` and River's ``predict_one`` loop."""
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
    # The MF step alone (our model's core), on item rows as the model feeds it.
    core = NumpyBiasedMF(
        config.n_factors, config.bias_lr, config.latent_lr, config.l2_bias, config.l2_latent,
        0.0, config.init_sigma, config.seed, config.clip_gradient,
    )
    # Every movie rated once, then random ratings; same code path as the worker.
    user_ids = rng.integers(1, users + 1, size=movies + ratings).tolist()
    movie_ids = np.concatenate([np.arange(1, movies + 1), rng.integers(1, movies + 1, ratings)])
    values = (rng.integers(1, 11, size=movies + ratings) / 2).tolist()
    events = list(zip(user_ids, movie_ids.tolist(), values, strict=True))
    rows = {m: r for r, m in enumerate(movie_ids[:movies].tolist())}  # = model.index rows
    clock = time.perf_counter_ns
    ours, step, river = [], [], []
    for start in range(0, len(events), chunk):
        part = events[start : start + chunk]
        part_rows = [(u, rows[m], y) for u, m, y in part]
        t0 = clock()
        for user, movie, y in part:
            model.learn_one(user, movie, y)
        t1 = clock()
        for user, row, y in part_rows:
            core.learn_one(user, row, y)
        t2 = clock()
        for user, movie, y in part:
            mf.learn_one(user, movie, y)
        t3 = clock()
        ours.append((t1 - t0) / len(part) / 1e3)
        step.append((t2 - t1) / len(part) / 1e3)
        river.append((t3 - t2) / len(part) / 1e3)

    probe = [int(u) for u in rng.integers(1, users + 1, size=repeat)]
    timings = []
    for user in probe:
        start = clock()
        model.recommend(user, n)
        timings.append(clock() - start)

    ids = model.index.ids.tolist()
    naive, same = [], True
    for user in probe[:naive_repeat]:
        rated = {ids[r] for r in model.rated.rows(user).tolist()}
        start = clock()
        scores = {m: mf.predict_one(user, m) for m in ids if m not in rated}
        best = sorted(scores, key=scores.__getitem__, reverse=True)[:n]
        naive.append(clock() - start)
        # The naive loop ranks by River's predicted rating: compare with our MF scores.
        top = top_n(model.mf_scores(user), n, model.rated.rows(user))
        same &= best == model.index.ids[top].tolist()
    return TopNBench(
        movies=len(ids),
        factors=model.n_factors,
        vectorised_us=statistics.median(timings) / 1e3,
        naive_us=statistics.median(naive) / 1e3,
        same_result=same,
        learn_us=statistics.median(ours),
        core_learn_us=statistics.median(step),
        river_learn_us=statistics.median(river),
    )


app = typer.Typer()


@app.command("topn")
def topn(
    movies: int = typer.Option(10_000, min=10, help="Number of movies in the catalogue."),
    users: int = typer.Option(500, min=1),
    ratings: int = typer.Option(50_000, min=0, help="Random ratings learned beyond one per movie."),
    n: int = typer.Option(10, min=1, help="N of the top-N."),
    repeat: int = typer.Option(2000, min=1, help="Top-N calls timed."),
    naive_repeat: int = typer.Option(5, min=1, help="predict_one loops timed."),
    seed: int = typer.Option(42),
    catalogues: str | None = typer.Option(
        None,
        help="Comma-separated catalogue sizes (e.g. 10000,43275,59025): instead, time one "
        "batch's lists per user vs recommend_many at each size.",
    ),
    batch_users: int = typer.Option(458, min=1, help="Users per batch (with --catalogues)."),
) -> None:
    """Time one top-N over all movies, beside the naive River predict_one loop."""
    if catalogues is not None:
        _catalogues(catalogues, batch_users, n)
        return
    result = bench_topn(movies, users, ratings, n, repeat, naive_repeat, seed)
    river = result.river_learn_us
    console.print(
        f"learn_one µs/event (median over chunks, interleaved): "
        f"River BiasedMF {river:,.1f} | our MF step [bold]{result.core_learn_us:,.1f}[/] "
        f"({result.core_learn_us / river:.2f}× River's time) | our whole model "
        f"[bold]{result.learn_us:,.1f}[/] ({result.learn_us / river:.2f}× River's time; "
        f"MF + trending, transitions, rating blend, rated sets)"
    )
    console.print(
        f"top-{n} over {result.movies:,} movies ({result.factors} factors): "
        f"ours [bold]{result.vectorised_us:,.1f} µs[/] (median of {repeat}), "
        f"River predict_one loop {result.naive_us:,.0f} µs (median of {naive_repeat}) "
        f"→ [bold]{result.ratio:,.0f}×[/] faster; same top-{n} by MF score: "
        f"{result.same_result}"
    )


def _catalogues(catalogues: str, batch_users: int, n: int) -> None:
    from rich.table import Table

    from benchmarks.topn_batch import bench_topn_batch

    sizes = [int(c) for c in catalogues.split(",")]
    with console.status("learning and timing"):
        results = bench_topn_batch(sizes, users_per_batch=batch_users, n=n)
    table = Table(title=f"top-{n} lists of one batch ({batch_users} users), µs per list (median of 5 batches)")
    for column in ("movies", "recommend each: wall", "CPU", "recommend_many: wall", "CPU", "wall ratio", "same lists"):
        table.add_column(column, justify="right")
    base = results[0]
    for r in results:
        table.add_row(
            f"{r.movies:,}",
            f"{r.per_user_wall_us:,.0f}",
            f"{r.per_user_cpu_us:,.0f}",
            f"{r.batch_wall_us:,.0f}",
            f"{r.batch_cpu_us:,.0f}",
            f"{r.per_user_wall_us / r.batch_wall_us:.2f}×",
            str(r.same_lists),
        )
    console.print(table)
    console.print(
        f"per list vs {base.movies:,} movies (recommend_many, wall): "
        + ", ".join(f"{r.movies:,}: {r.batch_wall_us / base.batch_wall_us:.2f}×" for r in results)
        + "; CPU is this thread's only (a second BLAS thread's work is not in it)."
    )
