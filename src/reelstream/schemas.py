"""The one definition of a rating event, shared by producers, the worker and the API.

On the wire an event is a JSON object on the ``ratings`` topic, keyed by ``user_id``::

    {"event_id": "7f0c...", "user_id": 1, "movie_id": 31, "rating": 2.5,
     "timestamp": "2009-12-14T02:52:24Z"}

The API validates request bodies with this model and the worker parses every message with
:meth:`RatingEvent.from_bytes`, so both refuse the same things, with the same reasons:

- ``user_id``/``movie_id``: JSON integers in ``1..2**31-1`` (``7.0`` is one too, as in JSON
  Schema; no strings, fractions or booleans);
- ``rating``: a JSON number (no string or boolean), a multiple of 0.5 in ``0.5..5.0``;
- ``timestamp``: an RFC 3339 date-time string with a UTC offset (``Z`` or ``±hh:mm``; not an
  epoch number), inside the event-time window: from ``REELSTREAM_EVENT_TIME_MIN`` to
  ``REELSTREAM_EVENT_TIME_MAX_AHEAD_S`` past the clock. The window is checked before the
  conversion to UTC, so no offset can overflow it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID, uuid4

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

__all__ = [
    "MAX_ID",
    "MAX_RATING",
    "MIN_RATING",
    "EventTimeWindow",
    "RatingEvent",
    "ValidationError",
    "configure_event_time_window",
    "event_time_window",
]

MIN_RATING = 0.5
MAX_RATING = 5.0
MAX_ID = 2**31 - 1  # ids are PostgreSQL int4


def _json_integer(value: Any) -> Any:
    # A JSON Schema integer is any number without a fraction (1.0 too); strings and booleans
    # are not numbers. pydantic's strict mode refuses 1.0, its lax mode takes "1" and true.
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    raise PydanticCustomError("int_type", "Input should be a JSON integer")


PositiveId = Annotated[int, Field(strict=True, ge=1, le=MAX_ID), BeforeValidator(_json_integer)]

_fromisoformat = datetime.fromisoformat

# RFC 3339 date-time: full date, "T", full time with optional fraction, mandatory offset.
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
).fullmatch


class EventTimeWindow:
    """Accepted event times: from ``earliest`` to ``max_ahead`` past the clock.

    The upper bound is kept and recomputed only when a time exceeds it: a kept bound is never
    later than the true one, so the common case costs one comparison and no clock read.
    """

    __slots__ = ("earliest", "max_ahead", "_latest")

    def __init__(self, earliest: datetime, max_ahead_s: float) -> None:
        self.earliest = earliest if earliest.tzinfo else earliest.replace(tzinfo=UTC)
        self.max_ahead = timedelta(seconds=max_ahead_s)
        self._latest = datetime.now(UTC) + self.max_ahead

    def check(self, value: datetime) -> datetime:
        """``value`` in UTC, or a ``timestamp_out_of_range`` validation error."""
        if value.tzinfo is None:  # a naive datetime object (Python callers) is taken as UTC
            value = value.replace(tzinfo=UTC)
        if value > self._latest:
            self._latest = datetime.now(UTC) + self.max_ahead
        if not self.earliest <= value <= self._latest:
            raise PydanticCustomError(
                "timestamp_out_of_range",
                "timestamp must be between {earliest} and {max_ahead_s} s after the server's "
                "clock (REELSTREAM_EVENT_TIME_MIN, REELSTREAM_EVENT_TIME_MAX_AHEAD_S)",
                {
                    "earliest": self.earliest.isoformat().replace("+00:00", "Z"),
                    "max_ahead_s": int(self.max_ahead.total_seconds()),
                },
            )
        if value.tzinfo is UTC:
            return value
        return value.astimezone(UTC)  # cannot overflow: inside the window


_window: EventTimeWindow | None = None


def event_time_window() -> EventTimeWindow:
    """The window in force: the one configured, else the one of ``REELSTREAM_*`` settings
    (read once per process)."""
    global _window
    if _window is None:
        from reelstream.settings import get_settings

        settings = get_settings()
        _window = EventTimeWindow(settings.event_time_min, settings.event_time_max_ahead_s)
    return _window


def configure_event_time_window(earliest: datetime, max_ahead_s: float) -> EventTimeWindow:
    """Set the window for this process (the API does this from its own settings)."""
    global _window
    _window = EventTimeWindow(earliest, max_ahead_s)
    return _window


def _event_time(value: Any) -> datetime:
    """An RFC 3339 string (or, from Python, a ``datetime``) -> an aware UTC ``datetime`` in the
    window. pydantic's own datetime parsing would also take epoch numbers, numeric strings and
    dates without a time or an offset, and its offsets make the window check cost more than
    this whole function (docs/performance.md; the worker runs it on every event)."""
    if type(value) is str:
        if _RFC3339(value) is None:
            raise PydanticCustomError(
                "datetime_format",
                "timestamp must be an RFC 3339 date-time with a UTC offset, "
                "e.g. 2009-12-14T02:52:24Z",
            )
        try:
            value = _fromisoformat(value)
        except ValueError:
            try:  # RFC 3339 allows a lower-case "t" and "z"; fromisoformat does not
                value = _fromisoformat(value.upper())
            except ValueError as exc:
                raise PydanticCustomError(
                    "datetime_from_date_parsing", "timestamp is not a valid date-time: {error}",
                    {"error": str(exc)},
                ) from None
    elif not isinstance(value, datetime):
        raise PydanticCustomError("datetime_type", "timestamp must be an RFC 3339 date-time string")
    return (_window or event_time_window()).check(value)


EventTime = Annotated[datetime, BeforeValidator(_event_time)]


class RatingEvent(BaseModel):
    """A user rated a movie at a moment in time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: UUID = Field(default_factory=uuid4)
    user_id: PositiveId
    movie_id: PositiveId
    rating: float = Field(
        strict=True, ge=MIN_RATING, le=MAX_RATING, multiple_of=0.5, allow_inf_nan=False
    )
    timestamp: EventTime = Field(
        default_factory=lambda: datetime.now(UTC),
        description="RFC 3339 date-time with offset; from REELSTREAM_EVENT_TIME_MIN "
        "(default 1995-01-01T00:00:00Z) to REELSTREAM_EVENT_TIME_MAX_AHEAD_S (default one "
        "day) past the server's clock. Defaults to the time of receipt.",
    )

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
