"""``reelstream worker``: the Faust streaming worker."""

from __future__ import annotations

import typer

#: The service's entry point, started by name (the library does not import the service).
WORKER_MODULE = "stream_processor.main"

__all__ = ["app"]

app = typer.Typer()


@app.command()
def worker(
    loglevel: str = typer.Option("info", help="Logging level of the worker."),
) -> None:
    """Consume rating events: store in PostgreSQL, learn online, refresh top-N in Redis."""
    import importlib

    importlib.import_module(WORKER_MODULE).run(loglevel)
