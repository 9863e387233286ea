"""``reelstream bench api``: throughput and latency of GET recommendations vs bare uvicorn."""

from __future__ import annotations

from pathlib import Path

import typer

from reelstream.cli._common import console, fail


app = typer.Typer()


@app.command("api")
def bench_api(
    users: int = typer.Option(10_000, min=1, help="Users with a cached list."),
    movies: int = typer.Option(2_000, min=20, help="Catalogue size."),
    concurrency: int = typer.Option(32, min=1, help="Concurrent clients (closed loop)."),
    duration: float = typer.Option(
        10.0, min=1, max=120, help="Closed-loop seconds per endpoint (over all rounds)."
    ),
    rounds: int = typer.Option(
        5, min=1, max=50, help="Closed-loop rounds, endpoints taken in turn in each."
    ),
    max_requests: int = typer.Option(200_000, min=100, help="Request cap per run."),
    rate: float = typer.Option(500.0, min=1, max=5000, help="Fixed rate for the p99 run."),
    rate_duration: float = typer.Option(10.0, min=1, max=120, help="Seconds at that rate."),
    client: str = typer.Option(
        "raw",
        help="Load client: raw (minimal asyncio HTTP/1.1, low overhead) or httpx.",
    ),
    embedded: bool = typer.Option(
        True,
        help="Start a private Redis + PostgreSQL on free ports (default); "
        "--no-embedded uses the configured URLs.",
    ),
    redis_clients: str = typer.Option(
        "redis-py,coredis,valkey-glide",
        help="Library Redis clients to run the API with beside its own, comma-separated "
        "('' for none).",
    ),
) -> None:
    """Concurrent GET /users/{id}/recommendations beside a bare uvicorn JSON endpoint."""
    import tempfile

    from rich.table import Table

    from benchmarks.api import ApiBenchConfig, run_api_bench, variant_envs
    from benchmarks.redis_clients import CLIENTS, installed
    from reelstream.settings import get_settings

    clients = [c.strip() for c in redis_clients.split(",") if c.strip()]
    unknown = set(clients) - set(CLIENTS)
    if unknown:
        fail(f"--redis-clients: unknown {sorted(unknown)}; choose from {', '.join(CLIENTS)}")
    missing = [c for c in clients if not installed(c)]
    if missing:
        console.print(f"skipping {', '.join(missing)}: not installed (the `bench` extra)")
        clients = [c for c in clients if c not in missing]

    config = ApiBenchConfig(
        users=users, movies=movies, concurrency=concurrency, duration_s=duration,
        max_requests=max_requests, rate=rate, rate_duration_s=rate_duration, client=client,
        rounds=rounds, variants=variant_envs(clients),
    )
    if client not in ("raw", "httpx"):
        fail("--client must be raw or httpx")
    settings = get_settings()
    with tempfile.TemporaryDirectory(prefix="reelstream-bench-api-") as tmp:
        workdir = Path(tmp)
        stack = None
        try:
            if embedded:
                from reelstream.processes import free_port
                from reelstream.stack import EmbeddedStack

                settings = settings.model_copy(
                    update={
                        "state_dir": workdir / "stack",
                        "kafka_bootstrap_servers": f"127.0.0.1:{free_port()}",
                        "redis_url": f"redis://127.0.0.1:{free_port()}/0",
                        "postgres_dsn": (
                            f"postgresql://reelstream@127.0.0.1:{free_port()}/reelstream"
                        ),
                    }
                )
                stack = EmbeddedStack(
                    settings, embedded=["redis", "postgres"], die_with_parent=True
                )
                console.print("starting a private Redis + PostgreSQL ...")
                stack.up(services=["redis", "postgres"])
            report = run_api_bench(settings, config, workdir, log=console.print)
        except Exception as exc:
            fail(f"bench api: {exc}")
        finally:
            if stack is not None:
                stack.down()

    table = Table(title=f"GET /users/{{id}}/recommendations (loopback, {client} client)")
    for column in ("endpoint", "load", "requests", "errors", "req/s", "p50 ms", "p99 ms"):
        table.add_column(column, justify="right" if column != "endpoint" else "left")
    names = {
        "api": "reelstream API (default n: stored page)",
        "api-rendered": f"reelstream API (n={config.rendered_n}: rendered)",
        "bare": "bare uvicorn (ASGI) JSON",
        "bare-fastapi": "bare FastAPI JSON",
        "api@rate": "reelstream API",
        "bare@rate": "bare uvicorn (ASGI) JSON",
    }
    names.update({v.name: f"reelstream API, {v.name}" for v in report.variants})
    for result, load in (
        (report.api, f"{concurrency} clients"),
        (report.api_rendered, f"{concurrency} clients"),
        *((v, f"{concurrency} clients") for v in report.variants),
        (report.bare, f"{concurrency} clients"),
        (report.bare_fastapi, f"{concurrency} clients"),
        (report.api_at_rate, f"{rate:g} req/s"),
        *((v, f"{rate:g} req/s") for v in report.variants_at_rate),
        *([(report.bare_at_rate, f"{rate:g} req/s")] if report.bare_at_rate else []),
    ):
        table.add_row(
            names[result.name],
            load, str(result.requests), str(result.errors), f"{result.rps:,.0f}",
            f"{result.pct(50):.2f}", f"{result.pct(99):.2f}",
        )
    console.print(table)
    ratio_ok = report.ratio >= 0.5
    fastapi_ok = report.ratio_fastapi >= 1.0
    p99_ok = report.api_at_rate.pct(99) <= 20.0
    console.print(
        f"throughput ratio API/bare uvicorn: {report.ratio:.2f} (rounds: "
        f"{', '.join(f'{r:.2f}' for r in report.round_ratios)}; rendered n="
        f"{config.rendered_n}: {report.ratio_rendered:.2f}); target >= 0.5: "
        f"{'met' if ratio_ok else 'MISSED'}. API/bare FastAPI: {report.ratio_fastapi:.2f}; "
        f"target >= 1: {'met' if fastapi_ok else 'MISSED'}. p99 at {rate:g} req/s: "
        f"{report.api_at_rate.pct(99):.2f} ms (target <= 20 ms: {'met' if p99_ok else 'MISSED'})"
        + (
            f"; bare uvicorn at the same rate: p99 {report.bare_at_rate.pct(99):.2f} ms"
            if report.bare_at_rate else ""
        )
    )
    fastapi_rps = report.bare_fastapi.rps
    for closed, at_rate in zip(report.variants, report.variants_at_rate):
        ratio = closed.rps / fastapi_rps if fastapi_rps else float("nan")
        holds = ratio >= 1.0 and at_rate.pct(99) <= 20.0
        console.print(
            f"{closed.name}: {ratio:.2f}x bare FastAPI (ours: {report.ratio_fastapi:.2f}x), "
            f"p99 at {rate:g} req/s {at_rate.pct(99):.2f} ms; the API's goal "
            f"(>= 1x bare FastAPI, p99 <= 20 ms): {'met' if holds else 'MISSED'}"
        )
