"""Helpers shared by the command modules: one console, one way to fail."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a clear error on stderr and exit non-zero."""
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)
