"""Start the Faust worker (what ``reelstream worker`` runs)."""

from __future__ import annotations

import faust

__all__ = ["run"]


def run(loglevel: str = "info") -> None:
    from reelstream.streaming.gc_pauses import keep_full_collections_short
    from stream_processor import agents  # noqa: F401  (registers the agents on the app)
    from stream_processor.app import app

    keep_full_collections_short()  # a full collection of Faust's objects would stop the stream
    faust.Worker(app, loglevel=loglevel).execute_from_commandline()
