"""``reelstream ui``: the web app (Streamlit) against the configured API."""

from __future__ import annotations

import typer

__all__ = ["app"]


app = typer.Typer()


@app.command()
def ui(
    host: str | None = typer.Option(None, help="Bind address (default: settings.ui_host)."),
    port: int | None = typer.Option(None, help="Port (default: settings.ui_port)."),
    api_url: str | None = typer.Option(
        None, help="The API to talk to (default: REELSTREAM_UI_API_URL, else the API's host/port)."
    ),
) -> None:
    """Rate movies in a browser and watch recommendations change; live stream and model pages. Needs the API running (REELSTREAM_UI_API_URL)."""
    import subprocess

    from reelstream.cli._common import console, fail
    from reelstream.settings import get_settings
    from reelstream.webapp import UiFailed, streamlit_command, ui_url

    settings = get_settings()
    update = {k: v for k, v in {"ui_host": host, "ui_port": port, "ui_api_url": api_url}.items()
              if v is not None}
    settings = settings.model_copy(update=update)
    try:
        command = streamlit_command(settings)
    except UiFailed as exc:
        fail(str(exc))
    console.print(f"reelstream web app on {ui_url(settings)}  (API: {settings.ui_api_base_url})")
    env = {**__import__("os").environ, **settings.to_env()}
    try:
        raise typer.Exit(subprocess.call(command, env=env))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
