"""The parameters a command uses do not depend on the folder it runs from."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from reelstream.cli import app
from reelstream.models import OnlineConfig, load_online_config
from reelstream.params import PACKAGED_PARAMS, ParamsNotFound, resolve_params
from reelstream.settings import Settings
from reelstream.training.data import load_params

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_the_repository_file_dvc_tracks_is_the_packaged_one():
    """One source of truth: the repository's params.yaml (DVC's) is the file in the package."""
    assert (REPO / "params.yaml").resolve() == PACKAGED_PARAMS
    assert PACKAGED_PARAMS.is_relative_to(REPO / "src" / "reelstream")


def test_packaged_defaults_are_the_tuned_ones_not_the_classes_defaults(monkeypatch):
    monkeypatch.delenv("REELSTREAM_PARAMS", raising=False)
    assert resolve_params() == PACKAGED_PARAMS
    assert load_params().ranker == "ease_seq"
    written = yaml.safe_load(PACKAGED_PARAMS.read_text())["online"]
    assert load_online_config() == OnlineConfig(**written)
    assert load_online_config() != OnlineConfig()


def test_explicit_then_environment_then_packaged(tmp_path, monkeypatch):
    mine = tmp_path / "mine.yaml"
    mine.write_text("online:\n  n_factors: 3\nbatch:\n  ranker: mf\n")
    other = tmp_path / "other.yaml"
    other.write_text("online:\n  n_factors: 5\n")
    monkeypatch.setenv("REELSTREAM_PARAMS", str(mine))
    assert load_online_config().n_factors == 3
    assert load_params().ranker == "mf"
    assert load_online_config(other).n_factors == 5
    monkeypatch.setenv("REELSTREAM_PARAMS", str(tmp_path / "gone.yaml"))
    with pytest.raises(ParamsNotFound, match="gone.yaml"):
        load_online_config()
    with pytest.raises(ValueError, match="gone.yaml"):
        Settings()


def test_state_folder_is_made_absolute_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REELSTREAM_STATE_DIR", raising=False)
    settings = Settings(_env_file=None)
    assert settings.state_dir == tmp_path / ".reelstream"
    assert settings.state_dir.is_absolute() and settings.data_dir.is_absolute()


def test_every_command_says_once_which_parameters_and_state_it_uses(tmp_path, monkeypatch):
    monkeypatch.delenv("REELSTREAM_PARAMS", raising=False)
    monkeypatch.setenv("REELSTREAM_STATE_DIR", str(tmp_path / "state"))
    result = CliRunner().invoke(app, ["stack", "status"])
    lines = [line for line in result.stderr.splitlines() if line.startswith("reelstream: ")]
    assert lines == [f"reelstream: parameters {PACKAGED_PARAMS} (packaged defaults) · "
                     f"state folder {tmp_path / 'state'}"]


def test_a_named_missing_parameters_file_stops_the_command(tmp_path, monkeypatch):
    monkeypatch.delenv("REELSTREAM_PARAMS", raising=False)
    result = CliRunner().invoke(app, ["--params", str(tmp_path / "nope.yaml"), "stack", "status"])
    assert result.exit_code == 1
    assert "nope.yaml" in result.stderr and "does not exist" in result.stderr
    os.environ.pop("REELSTREAM_PARAMS", None)  # the option exports it for child processes


def test_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and re.fullmatch(r"reelstream \d+\.\d+\.\S+\n", result.stdout)


@pytest.fixture
def small_movielens(tmp_path) -> Path:
    """A generated MovieLens-shaped folder: 60 users, 40 movies, 1,500 ratings."""
    rng = np.random.default_rng(7)
    folder = tmp_path / "ml-tiny"
    folder.mkdir()
    n = 1500
    pd.DataFrame({
        "userId": rng.integers(1, 61, n), "movieId": rng.integers(1, 41, n),
        "rating": rng.integers(1, 11, n) / 2, "timestamp": 1_000_000_000 + np.arange(n) * 60,
    }).to_csv(folder / "ratings.csv", index=False)
    pd.DataFrame({"movieId": range(1, 41), "title": [f"Movie {i} (2000)" for i in range(1, 41)],
                  "genres": ["Drama"] * 40}).to_csv(folder / "movies.csv", index=False)
    return folder


def _evaluate_from(cwd: Path, dataset: Path) -> tuple[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "REELSTREAM_PARAMS"}
    done = subprocess.run(
        [str(BIN / "reelstream"), "evaluate", "stream", "--dataset", str(dataset)],
        cwd=cwd, env={**env, "COLUMNS": "200"}, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    ours = next(line for line in done.stdout.splitlines() if "online (ours" in line)
    return ours, done.stderr


@pytest.mark.slow
def test_evaluate_stream_gives_the_same_model_and_figures_from_any_folder(small_movielens,
                                                                          tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    from_root, said_root = _evaluate_from(REPO, small_movielens)
    from_elsewhere, said_elsewhere = _evaluate_from(elsewhere, small_movielens)
    figures = lambda row: re.findall(r"online-\w+|\d+\.\d{4}", row)  # noqa: E731
    assert figures(from_root)[0].startswith("online-")
    assert figures(from_root) == figures(from_elsewhere)
    assert f"parameters {PACKAGED_PARAMS} (packaged defaults)" in said_elsewhere


def _leaf_commands():
    import typer.main

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from walk(sub, [*path, name])
        else:
            yield " ".join(path), cmd

    yield from walk(typer.main.get_command(app), [])


def test_every_command_says_what_must_be_running():
    silent = [name for name, cmd in _leaf_commands()
              if not re.search(r"\bneeds?\b", cmd.help or "", re.IGNORECASE)]
    assert not silent, f"help without what must be running: {silent}"


def test_one_spelling_per_option_across_commands():
    """Options meaning the same thing are spelled the same (old spellings only hidden)."""
    shown = {opt for _, cmd in _leaf_commands() for p in cmd.params if not getattr(p, "hidden", False)
             for opt in p.opts}
    assert "--log-level" in shown and "--cutoff" in shown
    assert not {"--loglevel", "--interval-end", "--date"} & shown
