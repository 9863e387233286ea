"""``reelstream demo``: the whole pipeline on the embedded stack, end to end."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from reelstream.cli._common import console, fail

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        dataset: Path | None = typer.Option(
            None, "--dataset", help="MovieLens folder (default: settings, else download NAME)."
        ),
        name: str = typer.Option("ml-latest-small", "--name", help="Dataset to download."),
        limit: int | None = typer.Option(None, "--limit", min=1, help="Only the K oldest."),
    ) -> None:
        """Stack up → worker → replay MovieLens → counts in PostgreSQL → recommendations."""
        from producers.movielens_replay import replay
        from reelstream.cli.replay import load_dataset
        from reelstream.demo import expected_events, log_dir, stored_events, wait_until_consumed
        from reelstream.settings import get_settings
        from reelstream.stack import EmbeddedStack, StackError
        from reelstream.store import EventStore
        from reelstream.streaming.process import WorkerFailed, WorkerProcess

        settings = get_settings()
        console.rule("1. embedded stack")
        try:
            EmbeddedStack(settings).up(
                ["kafka", "redis", "postgres"], on_status=lambda s: console.print(s.line())
            )
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
        except (WorkerFailed, TimeoutError) as exc:
            worker.kill()
            fail(str(exc))
        finally:
            worker.stop()

        console.rule("5. PostgreSQL")
        with EventStore(settings.postgres_dsn) as store:
            counts = store.counts()
        for table, count in counts.items():
            console.print(f"{table:<12} {count:>10,}")
        after = counts["ratings"]
        console.print(
            f"{after - before:,} new events stored ({report.acknowledged - (after - before):,} "
            f"duplicates ignored); end-to-end {report.acknowledged / ingest_s:,.0f} events/s"
        )
        expected = expected_events(ratings)
        if after < expected:
            fail(f"only {after:,} of the dataset's {expected:,} events are stored")
