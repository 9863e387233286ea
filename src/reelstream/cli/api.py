"""``reelstream api``: serve the HTTP API with uvicorn (OpenAPI docs at ``/docs``)."""

from __future__ import annotations

import typer

#: The service's app factory, started by name (the library does not import the service).
API_FACTORY = "api.main:create_app"

__all__ = ["app"]

app = typer.Typer()


@app.command()
def api(
    host: str | None = typer.Option(None, help="Bind address (default: settings.api_host)."),
    port: int | None = typer.Option(None, help="Port (default: settings.api_port)."),
    workers: int = typer.Option(1, min=1, help="uvicorn worker processes."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
    access_log: bool = typer.Option(False, help="Log every request (costs throughput)."),
) -> None:
    """Post ratings as events; read recommendations. Needs Kafka, Redis and PostgreSQL."""
    import uvicorn

    from reelstream.cli._common import console, fail
    from reelstream.settings import get_settings

    try:
        settings = get_settings()
    except Exception as exc:  # pydantic ValidationError
        fail(str(exc))
    host = host or settings.api_host
    port = port or settings.api_port
    options = dict(
        host=host, port=port, workers=workers, log_level=log_level, access_log=access_log
    )
    try:  # build the app once here: a placeholder key in production fails clearly
        uvicorn.Config(API_FACTORY, factory=True, **options).load()
    except Exception as exc:  # RuntimeError from the app factory
        fail(str(exc))
    console.print(f"reelstream API on http://{host}:{port}  (docs: http://{host}:{port}/docs)")
    uvicorn.run(API_FACTORY, factory=True, **options)
