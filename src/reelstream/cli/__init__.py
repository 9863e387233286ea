"""The ``reelstream`` console script.

Each command group lives in its own module under ``reelstream.cli`` and exposes
``register(app)``; heavy imports happen inside the commands, so ``reelstream --help`` is quick.
"""

from __future__ import annotations

import importlib

import typer

__all__ = ["app", "main"]

app = typer.Typer(
    name="reelstream",
    help="Event-driven streaming movie recommender.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

#: Command modules, in the order they appear in ``--help``.
COMMAND_MODULES: list[str] = [
    "demo", "stack", "data", "db", "replay", "worker", "sink", "api", "models", "evaluate", "evaluate_batch", "bench_topn", "bench_ingest", "bench_stream", "bench_chaos", "bench_api", "bench_freshness", "bench_retrain", "airflow_cmd",
]

for _name in COMMAND_MODULES:
    importlib.import_module(f"reelstream.cli.{_name}").register(app)


def main() -> None:
    app()
