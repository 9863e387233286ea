"""``reelstream stack up|down|status``: the embedded servers (see :mod:`reelstream.stack`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from reelstream.cli._common import console, fail

if TYPE_CHECKING:
    from reelstream.settings import Settings

__all__ = ["app"]

_SERVICES_HELP = "kafka, redis, postgres, mlflow"


def _selection(only: list[str] | None, without: list[str] | None) -> list[str]:
    from reelstream.stack import SERVICES, StackError

    chosen = list(only) if only else list(SERVICES)
    for name in [*chosen, *(without or [])]:
        if name not in SERVICES:
            raise StackError(f"unknown service {name!r}; choose from {_SERVICES_HELP}")
    return [n for n in chosen if n not in set(without or [])]


def _stack():  # type: ignore[no-untyped-def]
    from reelstream.settings import get_settings
    from reelstream.stack import EmbeddedStack

    return EmbeddedStack(get_settings())


OnlyOpt = Annotated[
    list[str] | None, typer.Option("--only", help=f"Only this service ({_SERVICES_HELP}).")
]
WithoutOpt = Annotated[
    list[str] | None, typer.Option("--without", help=f"Skip this service ({_SERVICES_HELP}).")
]


def _print(line: str) -> None:
    console.print(line, markup=False, highlight=False, soft_wrap=True)


def _worker_report(settings: Settings) -> list[str]:
    """The workers' heartbeats from Redis, or why they cannot be shown."""
    from reelstream.cli.worker_health import read_worker_summaries, worker_lines

    try:
        summaries = read_worker_summaries(settings, timeout_s=1.0)
    except Exception as exc:  # noqa: BLE001 - Redis down or unreachable
        return [f"workers: unknown (cannot read their status from Redis: {type(exc).__name__})"]
    if not summaries:
        return ["workers: none has reported a heartbeat (start one with `reelstream worker`)"]
    stale_after = f"{settings.health_heartbeat_max_age_s:g}"
    return [f"workers (stale: no heartbeat for {stale_after} s):", *worker_lines(summaries)]


app = typer.Typer(
    help="Run the embedded Kafka/Redis/PostgreSQL/MLflow servers on loopback.", no_args_is_help=True
)


@app.command("up")
def up(
    only: OnlyOpt = None,
    without: WithoutOpt = None,
    timeout: Annotated[
        float | None,
        typer.Option(help="Seconds to wait for each service (default: per service)."),
    ] = None,
) -> None:
    """Start the embedded servers and wait until each answers (idempotent). Needs nothing
    running.

    Also creates the Kafka topics and applies the database migrations. A service whose
    URL setting points elsewhere is left alone ("external").
    """
    from reelstream.stack import StackError

    try:
        _stack().up(
            _selection(only, without), on_status=lambda s: _print(s.line()), timeout_s=timeout
        )
    except StackError as exc:
        fail(str(exc))


@app.command("down")
def down(only: OnlyOpt = None, without: WithoutOpt = None) -> None:
    """Stop the embedded servers and every process they started (data is kept). Needs nothing running."""
    from reelstream.stack import StackError

    try:
        for status in _stack().down(_selection(only, without)):
            _print(status.line())
    except StackError as exc:
        fail(str(exc))


@app.command("status")
def status() -> None:
    """Needs nothing running. Say which servers run (and answer), which are stopped and which are external; then
    each worker's state, heartbeat age, lag, newest learned event and model (from Redis)."""
    from reelstream.stack import StackError

    try:
        stack = _stack()
        for s in stack.status():
            _print(s.line())
    except StackError as exc:
        fail(str(exc))
    _print("")
    for line in _worker_report(stack.settings):
        _print(line)
