"""``reelstream bench api``: recommendation reads over HTTP against a bare uvicorn baseline.

1. Populate a cache as the worker writes it: ``movies`` catalogue rows in PostgreSQL, a top-20
   list in Redis for each of ``users`` users with its default page (a private Redis
   database, so nothing else is touched).
2. Start the API (``uvicorn api.main:app``, one worker) and a bare ASGI JSON endpoint
   (:mod:`benchmarks._bare`) as subprocesses on free loopback ports.
3. Closed loop: ``concurrency`` clients hammer ``GET /users/{random}/recommendations`` with
   the default ``n`` (the stored page) and with ``rendered_n`` (a list rendered per request),
   the bare endpoint and the one-route FastAPI app, ``duration_s`` (or ``max_requests``) each,
   split into ``rounds`` slices taken in turn (API, bare, FastAPI, API, ...): on a shared
   machine whose speed drifts over minutes, each endpoint then sees the same mix of fast and
   slow moments. Report req/s, p50, p99, the API/bare throughput ratio over the whole run
   and the ratio of each round (its spread shows how much the machine drifted).
4. Open loop: requests *scheduled* at a fixed ``rate`` (500/s) for ``rate_duration_s``;
   latency counts from the scheduled time, so a stalled server cannot hide its queueing. The
   bare endpoint is run the same way, so the p99 can be read against the machine's own
   scheduling noise (on a shared 2-core machine that alone can exceed the target).

Everything is loopback-only and bounded in count and time.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.http_load import LoadResult, RawHttpClient, closed_loop, fixed_rate
from benchmarks.redis_clients import CLIENTS
from reelstream.processes import Child, free_port, port_answers
from reelstream.settings import Settings

__all__ = [
    "ApiBenchConfig", "ApiBenchReport", "LoadResult", "RawHttpClient", "run_api_bench",
    "variant_envs",
]

BENCH_REDIS_DB = 7
BENCH_API_KEY = "bench-api-key"
_FIRST_MOVIE = 1_900_000_000  # far above real ids: the bench rows never collide


@dataclass(frozen=True)
class ApiBenchConfig:
    users: int = 10_000
    movies: int = 2_000
    items_per_user: int = 20
    n: int = 10
    rendered_n: int = 20  # not the default page: parsed and rendered per request
    concurrency: int = 32
    duration_s: float = 10.0
    max_requests: int = 200_000
    rate: float = 500.0
    rate_duration_s: float = 10.0
    rounds: int = 5
    seed: int = 0
    client: str = "raw"  # "raw" (low-overhead asyncio HTTP/1.1) or "httpx"
    #: More APIs run side by side, each with other settings (name -> REELSTREAM_* variables),
    #: e.g. library Redis clients (:func:`variant_envs`).
    variants: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()


@dataclass(frozen=True)
class ApiBenchReport:
    api: LoadResult
    api_rendered: LoadResult  # n = rendered_n: no stored page, rendered per request
    bare: LoadResult  # bare uvicorn: a raw ASGI app with a fixed JSON body
    bare_fastapi: LoadResult  # the same body from a one-route FastAPI app
    api_at_rate: LoadResult
    rate: float
    bare_at_rate: LoadResult | None = None  # the machine's noise floor at the same rate
    round_ratios: tuple[float, ...] = ()  # API/bare req/s of each closed-loop round
    variants: tuple[LoadResult, ...] = ()  # ApiBenchConfig.variants, closed loop (stored page)
    variants_at_rate: tuple[LoadResult, ...] = ()

    @property
    def ratio(self) -> float:
        """API req/s over the bare uvicorn endpoint's (the issue's target: >= 0.5)."""
        return self.api.rps / self.bare.rps if self.bare.rps else float("nan")

    @property
    def ratio_rendered(self) -> float:
        return self.api_rendered.rps / self.bare.rps if self.bare.rps else float("nan")

    @property
    def ratio_fastapi(self) -> float:
        return self.api.rps / self.bare_fastapi.rps if self.bare_fastapi.rps else float("nan")


def variant_envs(redis_clients: list[str]) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """The :attr:`ApiBenchConfig.variants` that run the API with these library Redis clients.

    >>> variant_envs(["redis-py", "coredis"])[1]
    ('redis: coredis', (('REELSTREAM_API_REDIS_CLIENT', 'benchmarks.redis_clients:CoredisGet'),))
    """
    return tuple(
        (f"redis: {name}", (("REELSTREAM_API_REDIS_CLIENT", CLIENTS[name]),))
        for name in redis_clients
    )


# --- setup -----------------------------------------------------------------------------------
def with_redis_db(url: str, db: int) -> str:
    """``url`` pointing at Redis database ``db``."""
    base, _, last = url.rpartition("/")
    return f"{base}/{db}" if last.isdigit() else f"{url.rstrip('/')}/{db}"


def populate(settings: Settings, config: ApiBenchConfig) -> list[int]:
    """Write the bench catalogue and per-user lists; return the user ids."""
    from reelstream.cache import Recommendation, RecommendationCache, UserRecommendations
    from reelstream.catalog import MovieCatalog, to_movie_info
    from reelstream.recommendation_format import PageRenderer
    from reelstream.store import EventStore, Movie, upgrade

    rng = random.Random(config.seed)
    movie_ids = list(range(_FIRST_MOVIE, _FIRST_MOVIE + config.movies))
    genres = ["Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi", "Thriller"]
    movies = [
        Movie(m, f"Bench Movie {m - _FIRST_MOVIE}", tuple(rng.sample(genres, 2)), 2000)
        for m in movie_ids
    ]
    upgrade(settings.postgres_dsn)
    with EventStore(settings.postgres_dsn) as store:
        store.upsert_movies(movies)
    catalog = MovieCatalog(None)  # the worker's catalogue: filled from the same rows
    catalog.put(to_movie_info(m) for m in movies)
    pages = PageRenderer(catalog)  # the default page, as the worker renders it
    cache = RecommendationCache.from_settings(settings)
    now = datetime.now(UTC)
    user_ids = list(range(1, config.users + 1))
    try:
        for start in range(0, len(user_ids), 1000):
            cache.put_user_recommendations(
                [
                    UserRecommendations(
                        user_id=u,
                        items=[
                            Recommendation(m, round(5 - i * 0.1, 3))
                            for i, m in enumerate(rng.sample(movie_ids, config.items_per_user))
                        ],
                        model_version="bench",
                        updated_at=now,
                        last_event_at=now,
                    )
                    for u in user_ids[start : start + 1000]
                ],
                pages.render,
            )
    finally:
        cache.close()
    return user_ids


@contextmanager
def serve(app: str, port: int, env: dict[str, str], log: Path) -> Iterator[Child]:
    """Run ``uvicorn APP`` on a loopback port until the block ends; wait until it answers."""
    cmd = [
        sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
        "--no-access-log", "--log-level", "warning",
    ]
    with Child(app, cmd, log, env=env) as server:
        server.wait_for(lambda: port_answers("127.0.0.1", port), 60)
        yield server


# --- the whole run ----------------------------------------------------------------------------
def run_api_bench(
    settings: Settings, config: ApiBenchConfig, workdir: Path, log: Callable[[str], None] = print
) -> ApiBenchReport:
    settings = settings.model_copy(
        update={"redis_url": with_redis_db(settings.redis_url, BENCH_REDIS_DB)}
    )
    log(f"populating {config.users} users x {config.items_per_user} items, {config.movies} movies")
    user_ids = populate(settings, config)
    rng = random.Random(config.seed + 1)

    def rec_path() -> str:
        return f"/users/{rng.choice(user_ids)}/recommendations?n={config.n}"

    def rendered_path() -> str:
        return f"/users/{rng.choice(user_ids)}/recommendations?n={config.rendered_n}"

    env = os.environ | {
        "REELSTREAM_ENVIRONMENT": "development",
        "REELSTREAM_API_KEY": BENCH_API_KEY,
        "REELSTREAM_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "REELSTREAM_REDIS_URL": settings.redis_url,
        "REELSTREAM_POSTGRES_DSN": settings.postgres_dsn,
        "REELSTREAM_REDIS_PREFIX": settings.redis_prefix,
    }
    workdir.mkdir(parents=True, exist_ok=True)
    api_port, bare_port, fast_port = free_port(), free_port(), free_port()
    variant_ports = [free_port() for _ in config.variants]
    with ExitStack() as servers:
        servers.enter_context(serve("api.main:app", api_port, env, workdir / "bench-api.log"))
        servers.enter_context(
            serve("benchmarks._bare:app", bare_port, env, workdir / "bench-bare.log")
        )
        servers.enter_context(serve(
            "benchmarks._bare:fastapi_app", fast_port, env, workdir / "bench-fastapi.log"
        ))
        for i, ((_, overrides), port) in enumerate(zip(config.variants, variant_ports)):
            servers.enter_context(
                serve("api.main:app", port, env | dict(overrides), workdir / f"bench-api-{i}.log")
            )
        api_url, bare_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{bare_port}"
        fast_url = f"http://127.0.0.1:{fast_port}"
        variant_urls = {
            name: f"http://127.0.0.1:{port}" for (name, _), port in zip(config.variants, variant_ports)
        }
        log("warming up (catalogue cache, connections)")
        for paths in (rec_path, rendered_path):  # the rendered lists fill the API's catalogue
            asyncio.run(
                closed_loop("warm-up", api_url, paths, config.concurrency, 3.0, 5_000, config.client)
            )
        for url in variant_urls.values():
            asyncio.run(
                closed_loop("warm-up", url, rec_path, config.concurrency, 2.0, 3_000, config.client)
            )
        for url in (bare_url, fast_url):
            asyncio.run(closed_loop("warm-up", url, lambda: "/", config.concurrency, 1.0, 2_000, config.client))
        log(
            f"closed loop: {config.concurrency} clients, {config.duration_s:g} s per endpoint "
            f"in {config.rounds} interleaved rounds"
        )
        targets = {"api": (api_url, rec_path), "api-rendered": (api_url, rendered_path),
                   "bare": (bare_url, lambda: "/"), "bare-fastapi": (fast_url, lambda: "/")}
        targets.update({name: (url, rec_path) for name, url in variant_urls.items()})
        rounds: dict[str, list[LoadResult]] = {name: [] for name in targets}
        for _ in range(config.rounds):
            for name, (url, paths) in targets.items():
                rounds[name].append(asyncio.run(closed_loop(
                    name, url, paths, config.concurrency, config.duration_s / config.rounds,
                    config.max_requests // config.rounds, config.client,
                )))
        api, api_rendered, bare, bare_fastapi, *variants = (
            LoadResult.combined(rounds[name]) for name in targets
        )
        round_ratios = tuple(
            a.rps / b.rps if b.rps else float("nan") for a, b in zip(rounds["api"], rounds["bare"])
        )
        log(f"open loop: {config.rate:g} req/s for {config.rate_duration_s:g} s")
        at_rate = asyncio.run(
            fixed_rate("api@rate", api_url, rec_path, config.rate, config.rate_duration_s,
                      client_kind=config.client)
        )
        bare_at_rate = asyncio.run(
            fixed_rate("bare@rate", bare_url, lambda: "/", config.rate, config.rate_duration_s,
                       client_kind=config.client)
        )
        variants_at_rate = [
            asyncio.run(fixed_rate(name, url, rec_path, config.rate, config.rate_duration_s,
                                   client_kind=config.client))
            for name, url in variant_urls.items()
        ]
    return ApiBenchReport(
        api=api, api_rendered=api_rendered, bare=bare, bare_fastapi=bare_fastapi,
        api_at_rate=at_rate, rate=config.rate,
        bare_at_rate=bare_at_rate, round_ratios=round_ratios,
        variants=tuple(variants), variants_at_rate=tuple(variants_at_rate),
    )
