"""``reelstream data synth``: a MovieLens-shaped folder the loaders and the replay accept."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from benchmarks.synth import synth_ratings, write_movielens
from reelstream.cli import app
from reelstream.movielens import load


def test_first_events_in_time_order_of_the_whole_catalogue(tmp_path):
    first = synth_ratings(5_000, "small", seed=3)
    assert len(first) == 5_000
    assert np.all(np.diff(first["timestamp"].to_numpy()) >= 0)
    # a cut of the whole set, not a small set of its own: the same seed and catalogue give
    # the same prefix, and a longer cut starts with it
    longer = synth_ratings(8_000, "small", seed=3)
    assert longer.head(5_000).reset_index(drop=True).equals(first.reset_index(drop=True))
    assert not first.duplicated(["user_id", "movie_id"]).any()
    # seconds since the epoch, from MovieLens' own start (late 1995) on
    assert first["timestamp"].min() >= 815_000_000


def test_written_folder_loads_as_movielens(tmp_path):
    made = write_movielens(synth_ratings(3_000, "small", seed=1), tmp_path / "set")
    data = load(made.path)
    assert len(data.ratings) == made.ratings == 3_000
    assert data.ratings["rating"].between(0.5, 5.0).all()
    assert set(data.ratings["movie_id"]) <= set(data.movies["movie_id"])
    assert data.movies["movie_id"].max() == made.max_movie_id


def test_command_writes_and_reports(tmp_path):
    out = tmp_path / "cli"
    result = CliRunner().invoke(app, ["data", "synth", "--ratings", "2000", "--catalogue", "small", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2,000 ratings" in result.output
    assert len(load(out).ratings) == 2_000
    bad = CliRunner().invoke(app, ["data", "synth", "--ratings", "10", "--catalogue", "huge", "--out", str(out)])
    assert bad.exit_code != 0 and "unknown catalogue" in bad.output
