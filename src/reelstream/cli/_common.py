"""Helpers shared by the command modules: one console, one way to fail."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a clear error on stderr and exit non-zero."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    raise typer.Exit(code)


_groups: dict[str, typer.Typer] = {}


def group(app: typer.Typer, name: str, help: str) -> typer.Typer:
    """Get or create the sub-command group ``reelstream NAME`` (e.g. ``bench``, ``evaluate``).

    Several command modules add commands to one group, so it is created once here.
    """
    if name not in _groups:
        _groups[name] = typer.Typer(help=help, no_args_is_help=True)
        app.add_typer(_groups[name], name=name)
    return _groups[name]
