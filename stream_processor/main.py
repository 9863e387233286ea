"""Start the Faust worker (what ``reelstream worker`` runs)."""

from __future__ import annotations

import faust

__all__ = ["run"]


def run(loglevel: str = "info") -> None:
    from stream_processor import agents  # noqa: F401  (registers the agents on the app)
    from stream_processor.app import app

    faust.Worker(app, loglevel=loglevel).execute_from_commandline()
