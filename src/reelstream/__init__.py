"""reelstream: an event-driven streaming movie recommender."""

__version__ = "0.1.0"
