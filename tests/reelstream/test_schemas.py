from datetime import UTC, datetime
from uuid import UUID

import pytest
from pydantic import ValidationError

from reelstream.schemas import RatingEvent


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


def test_epoch_seconds_accepted_in_json():
    event = RatingEvent.from_bytes(b'{"user_id": 1, "movie_id": 2, "rating": 3, "timestamp": 964982703}')
    assert event.timestamp == datetime.fromtimestamp(964982703, UTC)
    assert event.rating == 3.0


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
