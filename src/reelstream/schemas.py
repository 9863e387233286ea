"""The one definition of a rating event, shared by producers, the worker and the API.

On the wire an event is a JSON object on the ``ratings`` topic, keyed by ``user_id``::

    {"event_id": "7f0c...", "user_id": 1, "movie_id": 31, "rating": 2.5,
     "timestamp": "2009-12-14T02:52:24Z"}
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = ["RatingEvent", "ValidationError", "MIN_RATING", "MAX_RATING"]

MIN_RATING = 0.5
MAX_RATING = 5.0

PositiveId = Annotated[int, Field(strict=True, gt=0, lt=2**31)]


class RatingEvent(BaseModel):
    """A user rated a movie at a moment in time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: UUID = Field(default_factory=uuid4)
    user_id: PositiveId
    movie_id: PositiveId
    rating: float = Field(ge=MIN_RATING, le=MAX_RATING, allow_inf_nan=False)
    timestamp: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @field_validator("rating")
    @classmethod
    def _half_steps(cls, value: float) -> float:
        if (value * 2) != int(value * 2):
            raise ValueError("rating must be a multiple of 0.5 (0.5, 1.0, ..., 5.0)")
        return value

    @field_validator("timestamp")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        # Naive timestamps are taken as UTC so that every stored time is comparable.
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @property
    def key(self) -> bytes:
        """Kafka message key: events of one user stay in one partition, in order."""
        return str(self.user_id).encode()

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes | str) -> RatingEvent:
        """Parse a wire message; raises :class:`pydantic.ValidationError` with the reason."""
        return cls.model_validate_json(raw)
