"""``producers/`` is a thin entry point over :mod:`reelstream.replay`."""

from __future__ import annotations

import subprocess
import sys

import producers.movielens_replay as entry_point
import reelstream.replay


def test_the_entry_point_is_the_library_replay() -> None:
    assert entry_point.replay is reelstream.replay.replay
    assert entry_point.ReplayFailed is reelstream.replay.ReplayFailed


def test_running_the_module_runs_reelstream_replay() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "producers.movielens_replay", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "--speed" in done.stdout and "--limit" in done.stdout
