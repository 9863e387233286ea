"""Replay MovieLens into Kafka: ``python -m producers.movielens_replay [OPTIONS]``, the same as
``reelstream replay [OPTIONS]`` (the logic is :func:`reelstream.replay.replay`)."""

from __future__ import annotations

from reelstream.replay import ReplayFailed, ReplayReport, replay

__all__ = ["ReplayFailed", "ReplayReport", "replay"]

if __name__ == "__main__":
    import sys

    from reelstream.cli import app

    app(["replay", *sys.argv[1:]], prog_name="producers.movielens_replay")
