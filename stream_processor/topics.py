"""The topics the worker reads and writes. Values stay raw bytes: parsing is the agent's
job, so a malformed message can be dead-lettered with its original bytes."""

from __future__ import annotations

from stream_processor.app import app, settings

__all__ = ["ratings_topic", "dead_letter_topic"]

ratings_topic = app.topic(
    settings.ratings_topic, value_type=bytes, partitions=settings.topic_partitions
)
dead_letter_topic = app.topic(settings.dlq_topic, value_type=bytes, partitions=1)
