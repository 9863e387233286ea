"""``reelstream worker``: the Faust streaming worker."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(
        loglevel: str = typer.Option("info", help="Logging level of the worker."),
    ) -> None:
        """Consume rating events: store in PostgreSQL, learn online, refresh top-N in Redis."""
        from stream_processor.worker import run

        run(loglevel)
