from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from pydantic import ValidationError

from reelstream.schemas import EventTimeWindow, RatingEvent, configure_event_time_window, event_time_window


def test_round_trip_keeps_every_field():
    event = RatingEvent(user_id=7, movie_id=31, rating=2.5, timestamp=datetime(2009, 12, 14, tzinfo=UTC))
    again = RatingEvent.from_bytes(event.to_bytes())
    assert again == event
    assert isinstance(again.event_id, UUID)
    assert event.key == b"7"


def test_event_id_generated_when_absent():
    a = RatingEvent(user_id=1, movie_id=1, rating=4.0)
    b = RatingEvent(user_id=1, movie_id=1, rating=4.0)
    assert a.event_id != b.event_id


def test_naive_timestamp_is_taken_as_utc():
    event = RatingEvent(user_id=1, movie_id=1, rating=4.0, timestamp=datetime(2020, 1, 1, 12))
    assert event.timestamp.tzinfo is not None
    assert event.timestamp.utcoffset().total_seconds() == 0




@pytest.mark.parametrize("rating", [0.0, 5.5, 3.3, -1, float("nan")])
def test_bad_rating_is_refused_with_reason(rating):
    with pytest.raises(ValidationError) as info:
        RatingEvent(user_id=1, movie_id=1, rating=rating)
    assert info.value.errors()[0]["loc"] == ("rating",)


@pytest.mark.parametrize("user_id", ["1", "abc", 1.5, None, 0, -3])
def test_wrong_user_type_or_value_is_refused(user_id):
    with pytest.raises(ValidationError) as info:
        RatingEvent.from_bytes(
            '{"user_id": %s, "movie_id": 1, "rating": 4.0}' % ("null" if user_id is None else repr(user_id).replace("'", '"'))
        )
    assert info.value.errors()[0]["loc"] == ("user_id",)


def test_missing_field_is_named():
    with pytest.raises(ValidationError) as info:
        RatingEvent.from_bytes(b'{"user_id": 1, "rating": 4.0}')
    assert [e["loc"] for e in info.value.errors()] == [("movie_id",)]
    assert info.value.errors()[0]["type"] == "missing"


def test_unknown_field_is_refused():
    with pytest.raises(ValidationError) as info:
        RatingEvent.from_bytes(b'{"user_id": 1, "movie_id": 1, "rating": 4.0, "colour": "red"}')
    assert info.value.errors()[0]["type"] == "extra_forbidden"


def test_malformed_json_is_refused():
    with pytest.raises(ValidationError):
        RatingEvent.from_bytes(b"{not json")


def wire(**fields) -> bytes:
    import json

    return json.dumps({"user_id": 1, "movie_id": 2, "rating": 4.0} | fields).encode()


def error_of(raw: bytes) -> dict:
    with pytest.raises(ValidationError) as info:
        RatingEvent.from_bytes(raw)
    errors = info.value.errors()
    assert len(errors) == 1, errors
    return errors[0]


def test_an_integer_rating_is_a_number():
    assert RatingEvent.from_bytes(wire(rating=3)).rating == 3.0


@pytest.mark.parametrize("rating", [True, False, "4.0", "4", None, [4.0]])
def test_rating_must_be_a_json_number(rating):
    assert error_of(wire(rating=rating))["loc"] == ("rating",)


def test_python_callers_get_the_same_rating_rules():
    with pytest.raises(ValidationError):
        RatingEvent(user_id=1, movie_id=1, rating=True)
    with pytest.raises(ValidationError):
        RatingEvent(user_id=1, movie_id=1, rating="4.5")


@pytest.mark.parametrize("rating", [0.25, 4.3, 4.000001, 5.5, 0, float("inf")])
def test_rating_is_a_half_step_in_range(rating):
    raw = wire(rating=rating) if rating != float("inf") else b'{"user_id":1,"movie_id":2,"rating":1e999}'
    assert error_of(raw)["loc"] == ("rating",)


@pytest.mark.parametrize("bad", [True, 0, -1, 2**31, 1.5, "7", 2**63, 0.0, 2.0**31])
@pytest.mark.parametrize("field", ["user_id", "movie_id"])
def test_ids_are_positive_int32_integers(field, bad):
    assert error_of(wire(**{field: bad}))["loc"] == (field,)


def test_largest_id_is_accepted():
    assert RatingEvent.from_bytes(wire(user_id=2**31 - 1)).user_id == 2**31 - 1


def test_an_integral_number_is_an_integer_as_in_json_schema():
    event = RatingEvent.from_bytes(wire(user_id=7.0, movie_id=31.0))
    assert (event.user_id, event.movie_id) == (7, 31) and type(event.user_id) is int


@pytest.mark.parametrize(
    "timestamp",
    [0, 964982703, 1.5, True, "964982703", "2009-12-14", "2009-12-14T02:52:24", "2009-12-14 02:52:24Z",
     "14/12/2009", "", "2009-12-14T02:52:24+0100", "2009-13-14T02:52:24Z", "2009-02-30T00:00:00Z",
     "2009-12-14T24:00:00Z", "２００９-12-14T02:52:24Z"],
)
def test_timestamp_must_be_an_rfc3339_date_time_string(timestamp):
    error = error_of(wire(timestamp=timestamp))
    assert error["loc"] == ("timestamp",)
    assert "timestamp" in error["msg"]


@pytest.mark.parametrize(
    ("timestamp", "utc"),
    [
        ("2009-12-14T02:52:24Z", datetime(2009, 12, 14, 2, 52, 24, tzinfo=UTC)),
        ("2009-12-14t02:52:24z", datetime(2009, 12, 14, 2, 52, 24, tzinfo=UTC)),
        ("2009-12-14T02:52:24.123456789+05:30", datetime(2009, 12, 13, 21, 22, 24, 123456, tzinfo=UTC)),
        ("2009-12-14T02:52:24-23:59", datetime(2009, 12, 15, 2, 51, 24, tzinfo=UTC)),
    ],
)
def test_any_utc_offset_is_accepted_and_converted(timestamp, utc):
    event = RatingEvent.from_bytes(wire(timestamp=timestamp))
    assert event.timestamp == utc and event.timestamp.tzinfo is UTC
    assert RatingEvent.from_bytes(event.to_bytes()) == event


@pytest.mark.parametrize(
    "timestamp",
    [
        "9999-12-31T23:59:59-01:00",  # would overflow in the conversion to UTC
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00+01:00",  # would underflow
        "0001-01-01T00:00:00Z",
        "1994-12-31T23:59:59Z",
        "1995-01-01T00:59:59+01:00",  # 1994-12-31T23:59:59Z
    ],
)
def test_out_of_window_timestamps_are_clean_validation_errors(timestamp):
    error = error_of(wire(timestamp=timestamp))
    assert error["type"] == "timestamp_out_of_range"
    assert "1995-01-01T00:00:00Z" in error["msg"]
    with pytest.raises(ValidationError):  # the API's way in: Python objects from json.loads
        RatingEvent.model_validate({"user_id": 1, "movie_id": 2, "rating": 4.0, "timestamp": timestamp})


def test_window_edges():
    assert RatingEvent.from_bytes(wire(timestamp="1995-01-01T00:00:00Z")).timestamp.year == 1995
    soon = datetime.now(UTC) + timedelta(hours=23)
    assert RatingEvent(user_id=1, movie_id=1, rating=1.0, timestamp=soon).timestamp == soon
    with pytest.raises(ValidationError):
        RatingEvent(user_id=1, movie_id=1, rating=1.0, timestamp=datetime.now(UTC) + timedelta(hours=25))


def test_the_window_follows_the_clock():
    window = EventTimeWindow(datetime(2000, 1, 1, tzinfo=UTC), max_ahead_s=0.2)
    import time

    later = datetime.now(UTC) + timedelta(seconds=0.5)
    with pytest.raises(ValueError):
        window.check(later)
    time.sleep(0.4)  # the kept upper bound is recomputed when a time exceeds it
    assert window.check(later) == later


def test_the_window_is_configurable():
    default = event_time_window()
    try:
        configure_event_time_window(datetime(2010, 1, 1), 0)
        assert error_of(wire(timestamp="2009-12-14T02:52:24Z"))["type"] == "timestamp_out_of_range"
        assert RatingEvent.from_bytes(wire(timestamp="2010-01-01T00:00:00Z"))
    finally:
        configure_event_time_window(default.earliest, default.max_ahead.total_seconds())


def test_the_default_window_comes_from_the_settings():
    from reelstream.settings import Settings

    settings = Settings(_env_file=None)
    window = event_time_window()
    assert window.earliest == settings.event_time_min == datetime(1995, 1, 1, tzinfo=UTC)
    assert window.max_ahead == timedelta(seconds=settings.event_time_max_ahead_s) == timedelta(days=1)


def test_json_schema_states_the_bounds():
    schema = RatingEvent.model_json_schema()
    props = schema["properties"]
    assert schema["additionalProperties"] is False
    assert {k: props["rating"][k] for k in ("type", "minimum", "maximum", "multipleOf")} == {
        "type": "number", "minimum": 0.5, "maximum": 5.0, "multipleOf": 0.5
    }
    for field in ("user_id", "movie_id"):
        assert {k: props[field][k] for k in ("type", "minimum", "maximum")} == {
            "type": "integer", "minimum": 1, "maximum": 2**31 - 1
        }
    assert (props["timestamp"]["type"], props["timestamp"]["format"]) == ("string", "date-time")
