"""Helpers shared by the command modules: one console, one way to fail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def print_table(table: Table, min_width: int) -> None:
    """Print a wide table at ``min_width`` columns at least: on a narrow terminal or a pipe,
    rich would otherwise fold its headers and cut its figures to "0.…"."""
    if console.width >= min_width:
        console.print(table)
    else:  # console.print(width=...) cannot go beyond the console's own width
        Console(width=min_width).print(table)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a clear error on stderr and exit non-zero."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    raise typer.Exit(code)


# Options of every command that reads a MovieLens dataset (demo, replay, benchmarks).
DatasetOption = Annotated[
    Path | None,
    typer.Option("--dataset", help="MovieLens folder (default: settings, else download NAME)."),
]
NameOption = Annotated[str, typer.Option("--name", help="Dataset to download.")]
LimitOption = Annotated[int | None, typer.Option("--limit", min=1, help="Only the K oldest.")]


def require_benchmarks() -> None:
    """Fail clearly when the ``benchmarks`` package is absent: it ships with the repository
    (``benchmarks/``), not with the product's image."""
    import importlib.util

    if importlib.util.find_spec("benchmarks") is None:
        fail(
            "the benchmarks are not installed: they live in the repository's benchmarks/ "
            "folder; run this from a checkout after `make install`"
        )
