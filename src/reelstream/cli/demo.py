"""``reelstream demo``: the whole pipeline on the embedded stack, end to end."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import typer

from reelstream.cli._common import DatasetOption, LimitOption, NameOption, console, fail

__all__ = ["app"]


app = typer.Typer()


@app.command()
def demo(
    dataset: DatasetOption = None,
    name: NameOption = "ml-latest-small",
    limit: LimitOption = None,
) -> None:
    """Stack up → worker → replay MovieLens → counts in PostgreSQL → recommendations."""
    from reelstream.replay import replay
    from reelstream.cli.replay import load_dataset
    from reelstream.demo import (
        expected_events,
        log_dir,
        retrain_and_promote,
        stored_events,
        wait_for_log,
        wait_until_consumed,
    )
    from reelstream.settings import get_settings
    from reelstream.stack import EmbeddedStack, StackError
    from reelstream.store import EventStore
    from reelstream.streaming.process import WorkerFailed, WorkerProcess
    from reelstream.webapp import UiFailed

    settings = get_settings()
    console.rule("1. embedded stack")
    try:
        EmbeddedStack(settings).up(on_status=lambda s: console.print(s.line()))
    except StackError as exc:
        fail(str(exc))

    console.rule("2. MovieLens")
    data = load_dataset(dataset, name)
    ratings = data.ratings if limit is None else data.ratings.nsmallest(limit, "timestamp")
    with EventStore(settings.postgres_dsn) as store:
        store.upsert_movies(data.movies)
    console.print(
        f"{data.path}: {len(ratings):,} ratings, {len(data.movies):,} movies "
        "(movies loaded into PostgreSQL)"
    )

    console.rule("3. streaming worker")
    from reelstream.background import stop_all

    for name, pid in stop_all(settings).items():  # an earlier demo's, holding ports
        console.print(f"stopped the previous demo's {name} (pid {pid})")
    worker = WorkerProcess(settings, log_dir(settings) / "worker.log").start()
    try:
        ready_s = worker.wait_ready()
        console.print(f"worker consuming after {ready_s:.1f} s (log: {worker.log_path})")

        console.rule("4. replay → Kafka → worker → PostgreSQL + model + Redis")
        before = stored_events(settings)
        started = time.perf_counter()
        report = replay(settings, ratings, source=str(data.path))
        console.print(
            f"published {report.acknowledged:,} events in {report.seconds:.1f} s "
            f"({report.events_per_s:,.0f} events/s, acks=all)"
        )
        with console.status("worker catching up...") as status:
            wait_until_consumed(
                settings,
                report.end_offsets,
                on_wait=lambda behind: status.update(f"worker: {behind:,} events to go"),
            )
        ingest_s = time.perf_counter() - started

        console.rule("5. PostgreSQL")
        with EventStore(settings.postgres_dsn) as store:
            counts = store.counts()
        for table, count in counts.items():
            console.print(f"{table:<12} {count:>10,}")
        after = counts["ratings"]
        console.print(
            f"{after - before:,} new events stored "
            f"({report.acknowledged - (after - before):,} duplicates ignored); "
            f"end-to-end {report.acknowledged / ingest_s:,.0f} events/s"
        )
        expected = expected_events(ratings)
        if after < expected:
            fail(f"only {after:,} of the dataset's {expected:,} events are stored")

        console.rule("6. nightly retraining, once: PostgreSQL → MLflow → champion → worker")
        with console.status("training the batch model on the PostgreSQL snapshot..."):
            newest = datetime.fromtimestamp(int(ratings["timestamp"].max()), UTC)
            outcome, metrics = retrain_and_promote(settings, newest)
        champion = outcome.champion
        if outcome.reused:
            trained = f"version v{outcome.version} reused ({outcome.reason}); champion v{champion}"
        else:
            trained = (f"registered v{outcome.version}; champion v{champion} "
                       f"({'promoted now' if outcome.promoted else 'unchanged'})")
        console.print(
            f"{trained}; NDCG@10 {metrics.get('ndcg_at_10', float('nan')):.4f}, "
            f"RMSE {metrics.get('rmse', float('nan')):.4f}; MLflow UI: "
            f"{settings.mlflow_tracking_uri}"
        )
        if wait_for_log(worker.log_path, f"now serving champion-v{champion}"):
            console.print(f"the worker warm-started from champion v{champion}")

        console.rule("7. HTTP: post a rating, read fresh recommendations (from Redis)")
        show_recommendations(settings, sorted(ratings["user_id"].unique().tolist())[:3])

        console.rule("8. the web app")
        url = leave_running(settings, worker)
    except typer.Exit:
        worker.stop()
        raise
    except (WorkerFailed, TimeoutError, RuntimeError, UiFailed) as exc:  # incl. the API not starting
        worker.kill()
        fail(str(exc))
    except BaseException:
        worker.stop()
        raise
    console.print(
        f"[bold green]Open the web app: {url}[/]\n"
        f"Still running: the embedded stack, the worker, the API "
        f"(http://{settings.api_host}:{settings.api_port}/docs) and the web app "
        f"(logs in {log_dir(settings)}).\n"
        "Stop them: [bold]reelstream demo-down[/] (worker, API, web app), then "
        "[bold]reelstream stack down[/]."
    )


@app.command("demo-down")
def demo_down() -> None:
    """Stop the worker, API and web app that ``reelstream demo`` left running."""
    from reelstream.background import stop_all
    from reelstream.settings import get_settings

    stopped = stop_all(get_settings())
    if not stopped:
        console.print("nothing left running by the demo")
    for name, pid in stopped.items():
        console.print(f"stopped {name} (pid {pid})")
    console.print("The embedded stack is still up: [bold]reelstream stack down[/] stops it.")


def leave_running(settings, worker) -> str:  # type: ignore[no-untyped-def]
    """Keep the worker, start the API and the web app in the background (pid files, so
    ``reelstream demo-down`` stops them); returns the web app's URL."""
    from reelstream.background import api_process, remember
    from reelstream.demo import log_dir
    from reelstream.webapp import UiProcess

    remember(settings, "worker", worker.pid)
    api = api_process(settings, log_dir(settings) / "api.log")
    remember(settings, "api", api.pid)
    ui = UiProcess(settings, log_dir(settings) / "ui.log").start()
    remember(settings, "ui", ui.pid)
    return ui.url


def show_recommendations(settings, users: list[int]) -> None:  # type: ignore[no-untyped-def]
    """Each user rates their top recommendation over HTTP; poll until their list includes it.

    The top recommendation is a movie the user has not rated, so every run posts a new event
    and shows a real refresh; its id is fixed (uuid5 of user and movie), so a retried post
    is a duplicate.
    """
    import uuid

    import httpx

    from reelstream.replay import REPLAY_NAMESPACE

    from reelstream.demo import serve_api

    headers = {"X-API-Key": settings.api_key.get_secret_value()}
    with serve_api(settings) as url, httpx.Client(base_url=url, timeout=10) as http:
        popular = http.get("/popular", params={"n": 1}).json()["items"]
        for user in users:
            before = http.get(f"/users/{user}/recommendations", params={"n": 1}).json()["items"]
            top = (before or popular or [{"movie_id": 1, "title": None}])[0]
            movie = top["movie_id"]
            posted = time.perf_counter()
            event_id = str(uuid.uuid5(REPLAY_NAMESPACE, f"demo:{user}:{movie}"))
            accepted = http.post(
                "/ratings",
                headers=headers,
                json={"event_id": event_id, "user_id": user, "movie_id": movie, "rating": 4.5},
            )
            accepted.raise_for_status()
            while True:
                body = http.get(f"/users/{user}/recommendations", params={"n": 5}).json()
                refreshed = body.get("last_event_id") == event_id
                if refreshed or time.perf_counter() - posted > 10:
                    break
                time.sleep(0.005)
            fresh_ms = (time.perf_counter() - posted) * 1000
            titles = ", ".join(item["title"] or str(item["movie_id"]) for item in body["items"])
            outcome = f"refreshed in {fresh_ms:.0f} ms" if refreshed else "not refreshed in 10 s"
            console.print(
                f"user {user}: rated {top['title'] or movie} 4.5★ → list {outcome} "
                f"({body['source']}, model {body['model_version']}): {titles}",
                highlight=False,
                markup=False,
            )
