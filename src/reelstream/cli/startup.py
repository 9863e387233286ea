"""Options of ``reelstream`` itself: ``--version``, ``--params``, and the start-up line.

Every command begins by saying, once and on stderr, which parameters file (the model's
hyper-parameters) and which state folder it uses, so a run is never silently configured by
the folder it was started from.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated

import typer

from reelstream.cli._common import err_console, fail

__all__ = ["root", "package_version", "describe_startup"]


def package_version() -> str:
    try:
        return version("reelstream")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"reelstream {package_version()}")
        raise typer.Exit()


def describe_startup(source: str | None = None) -> str:
    """``parameters <file> (<source>) · state folder <dir>`` for the current environment."""
    from reelstream.params import params_source, resolve_params
    from reelstream.settings import Settings

    params = resolve_params()
    state_dir = Settings().state_dir
    return f"parameters {params} ({source or params_source()}) · state folder {state_dir}"


def root(
    ctx: typer.Context,
    params: Annotated[
        Path | None,
        typer.Option(
            "--params",
            help="Parameters file (the model's hyper-parameters). Default: "
            "REELSTREAM_PARAMS, else the defaults shipped in the package.",
            show_default=False,
        ),
    ] = None,
    _version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True,
                     help="Print the version and exit."),
    ] = False,
) -> None:
    """Event-driven streaming movie recommender."""
    if params is not None:
        # through the environment: worker processes, DVC and Airflow tasks inherit it
        os.environ["REELSTREAM_PARAMS"] = str(params.expanduser().absolute())
    if ctx.resilient_parsing or "--help" in sys.argv:
        return
    try:
        line = describe_startup("--params" if params is not None else None)
    except FileNotFoundError as exc:
        fail(str(exc))
    except ValueError as exc:  # settings that do not validate
        fail(str(exc))
    err_console.print(f"reelstream: {line}", soft_wrap=True, highlight=False, markup=False)
