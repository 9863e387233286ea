"""``reelstream worker``: the Faust streaming worker."""

from __future__ import annotations

import typer

#: The service's entry point, started by name (the library does not import the service).
WORKER_MODULE = "stream_processor.main"

__all__ = ["app"]

app = typer.Typer()


@app.command()
def worker(
    log_level: str = typer.Option("info", "--log-level", help="Logging level of the worker."),
    loglevel: str | None = typer.Option(None, "--loglevel", hidden=True),  # the old spelling
) -> None:
    """Consume rating events: store in PostgreSQL, learn online, refresh top-N in Redis.
    Needs Kafka, PostgreSQL and Redis; MLflow to adopt the champion."""
    import importlib

    importlib.import_module(WORKER_MODULE).run(loglevel or log_level)
