"""The ``reelstream`` command tree (explicit Typer sub-apps) and the services it starts by name."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from reelstream.cli import app
from reelstream.cli import api as api_cmd
from reelstream.cli import worker as worker_cmd
from reelstream.settings import get_settings


def _tree(command: object, prefix: str = "") -> list[str]:
    names = [prefix.strip()] if prefix else []
    if hasattr(command, "list_commands"):
        ctx = typer.Context(command)  # type: ignore[arg-type]
        for name in command.list_commands(ctx):  # type: ignore[attr-defined]
            sub = command.get_command(ctx, name)  # type: ignore[attr-defined]
            names += _tree(sub, f"{prefix} {name}")
    return names


def test_every_documented_command_is_in_the_tree_in_order() -> None:
    tree = _tree(typer.main.get_command(app))
    top = [name for name in tree if " " not in name]
    assert top == [
        "demo", "demo-down", "replay", "worker", "worker-health", "sink", "api", "ui", "retrain",
        "stack", "data", "db", "models", "evaluate", "bench", "airflow",
    ]
    for leaf in [
        "stack up", "stack down", "stack status", "data fetch", "db upgrade", "db counts",
        "models list", "models promote", "models rollback", "evaluate stream", "evaluate batch",
        "bench topn", "bench ingest", "bench stream", "bench api", "bench freshness",
        "bench retrain", "bench ui", "bench chaos", "airflow test", "airflow standalone", "airflow env",
    ]:
        assert leaf in tree


@pytest.mark.parametrize("group", ["stack", "data", "db", "models", "evaluate", "bench", "airflow"])
def test_a_group_without_its_sub_command_shows_its_help(group: str) -> None:
    result = CliRunner().invoke(app, [group])
    assert "Usage" in result.output and "Commands" in result.output


def test_the_services_started_by_name_exist() -> None:
    module_name, _, factory = api_cmd.API_FACTORY.partition(":")
    assert callable(getattr(importlib.import_module(module_name), factory))
    assert callable(importlib.import_module(worker_cmd.WORKER_MODULE).run)


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()  # read this test's environment, leave none of it behind
    yield
    get_settings.cache_clear()


def test_api_refuses_the_placeholder_key_outside_development_before_binding(
    monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    monkeypatch.setenv("REELSTREAM_ENVIRONMENT", "test")
    monkeypatch.delenv("REELSTREAM_API_KEY", raising=False)
    result = CliRunner().invoke(app, ["api", "--port", "1"])
    assert result.exit_code == 1
    assert "refusing to start the API" in result.output


def test_bench_commands_say_so_when_the_benchmarks_are_absent(monkeypatch):
    import importlib.util

    from typer.testing import CliRunner

    from reelstream.cli import app

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "benchmarks" else find_spec(name, *a)
    )
    result = CliRunner().invoke(app, ["bench", "stream", "--limit", "10"])
    assert result.exit_code == 1
    assert "benchmarks are not installed" in result.output
