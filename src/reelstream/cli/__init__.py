"""The ``reelstream`` console script: one Typer app built from explicit sub-apps.

Each module under ``reelstream.cli`` holds a ``typer.Typer()`` named ``app`` with its commands
(a group module such as ``stack`` gives it its help); heavy imports happen inside the
commands, so ``reelstream --help`` is quick. Adding a command is one line here:

* a top-level command (``reelstream ui``): write ``cli/ui.py`` with ``app = typer.Typer()``
  and ``@app.command()``, then ``app.add_typer(ui.app)`` below;
* a command in a group (``reelstream bench chaos``): write ``cli/bench_chaos.py`` the same way
  with ``@app.command("chaos")``, then ``bench.add_typer(bench_chaos.app)``;
* a new group: ``app.add_typer(module.app, name="group")``;
* a command in a group's own module (``reelstream data synth``): ``@app.command("synth")`` in
  ``cli/data.py``, nothing here.
"""

from __future__ import annotations

import typer

from reelstream.cli import (
    airflow_cmd,
    api,
    bench_api,
    bench_chaos,
    bench_freshness,
    bench_ingest,
    bench_retrain,
    bench_stream,
    bench_topn,
    bench_ui,
    data,
    db,
    demo,
    evaluate,
    evaluate_batch,
    models,
    replay,
    sink,
    stack,
    ui,
    worker,
    worker_health,
)
from reelstream.cli._common import require_benchmarks

__all__ = ["app", "main"]

app = typer.Typer(
    name="reelstream",
    help="Event-driven streaming movie recommender.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# Commands, in the order ``--help`` lists them.
app.add_typer(demo.app)
app.add_typer(replay.app)
app.add_typer(worker.app)
app.add_typer(worker_health.app)
app.add_typer(sink.app)
app.add_typer(api.app)
app.add_typer(ui.app)
app.add_typer(models.app)  # retrain

app.add_typer(stack.app, name="stack")
app.add_typer(data.app, name="data")
app.add_typer(db.app, name="db")
app.add_typer(models.models_app, name="models")

evaluate_group = typer.Typer(help="Evaluate models offline.", no_args_is_help=True)
evaluate_group.add_typer(evaluate.app)  # stream
evaluate_group.add_typer(evaluate_batch.app)  # batch
app.add_typer(evaluate_group, name="evaluate")

bench = typer.Typer(
    help="Benchmarks (figures and ratios measured side by side).",
    no_args_is_help=True,
    callback=require_benchmarks,  # they are in the repository's benchmarks/, not in the product
)
bench.add_typer(bench_topn.app)
bench.add_typer(bench_ingest.app)
bench.add_typer(bench_stream.app)
bench.add_typer(bench_chaos.app)
bench.add_typer(bench_api.app)
bench.add_typer(bench_freshness.app)
bench.add_typer(bench_retrain.app)
bench.add_typer(bench_ui.app)
app.add_typer(bench, name="bench")

app.add_typer(airflow_cmd.app, name="airflow")


def main() -> None:
    app()
