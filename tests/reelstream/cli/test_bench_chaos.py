"""``reelstream bench chaos``: refuses remote services, runs a scenario and prints its table."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from reelstream.cli import app
from reelstream.settings import get_settings


@pytest.fixture
def env(monkeypatch):
    def use(settings):
        for name, value in settings.to_env().items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


def test_non_loopback_services_are_refused_without_yes(env, tmp_path):
    from tests.conftest import make_test_settings

    env(make_test_settings(tmp_path, redis_url="redis://10.20.30.40:6379/0"))
    result = CliRunner().invoke(app, ["bench", "chaos"])
    assert result.exit_code == 1
    assert "refusing" in result.output and "redis at 10.20.30.40" in result.output
    assert "targets: kafka 127.0.0.1:" in result.output  # it names what it would touch


def test_poison_scenario_prints_its_figures(env, stack, monkeypatch):
    from reelstream.cli._common import console

    monkeypatch.setattr(console, "width", 200)
    env(stack)
    result = CliRunner().invoke(app, ["bench", "chaos", "-s", "poison", "--events", "60"])
    assert result.exit_code == 0, result.output
    [row] = [line for line in result.output.splitlines() if line.startswith("│ poison")]
    cells = [c.strip() for c in row.strip("│").split("│")]
    # sent: 20 valid + a probe + 6 bad; each valid stored and learned once, each bad dead-lettered
    assert cells[1:8] == ["27", "21", "21", "6 / 6", "0", "0", "0"]
