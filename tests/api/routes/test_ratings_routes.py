"""POST /ratings and /ratings/batch: 202 only after the broker acknowledged; 401/422/503."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

import pytest
from api_testing import API_KEY, closed_port, make_client
from fastapi.testclient import TestClient

from reelstream.schemas import RatingEvent
from reelstream.settings import Settings

pytestmark = pytest.mark.integration


def consume_events(settings: Settings, wanted: Iterable[str], deadline_s: float = 30.0) -> dict[str, tuple[bytes, RatingEvent]]:
    """Read the ratings topic from the beginning until every wanted event_id was seen."""
    from kafka import TopicPartition

    from reelstream.kafka import make_consumer

    wanted = set(wanted)
    found: dict[str, tuple[bytes, RatingEvent]] = {}
    consumer = make_consumer(settings, None)
    try:
        partitions = [
            TopicPartition(settings.ratings_topic, p)
            for p in consumer.partitions_for_topic(settings.ratings_topic) or ()
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        give_up = time.monotonic() + deadline_s  # a bound on waiting, not an assertion
        while wanted - found.keys() and time.monotonic() < give_up:
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    event = RatingEvent.from_bytes(record.value)
                    found[str(event.event_id)] = (record.key, event)
    finally:
        consumer.close()
    return {k: v for k, v in found.items() if k in wanted}


def test_post_rating_is_on_the_topic(
    client: TestClient, api_settings: Settings, auth: dict[str, str]
) -> None:
    body = {"user_id": 42, "movie_id": 31, "rating": 2.5, "timestamp": "2009-12-14T02:52:24Z"}
    response = client.post("/ratings", json=body, headers=auth)
    assert response.status_code == 202, response.text
    event_id = response.json()["event_id"]
    uuid.UUID(event_id)  # generated

    found = consume_events(api_settings, [event_id])
    key, event = found[event_id]
    assert key == b"42"  # keyed by user id: one user's events stay in order
    assert (event.user_id, event.movie_id, event.rating) == (42, 31, 2.5)
    assert event.timestamp.isoformat() == "2009-12-14T02:52:24+00:00"


def test_client_event_id_is_kept(client: TestClient, api_settings: Settings, auth: dict[str, str]) -> None:
    event_id = str(uuid.uuid4())
    response = client.post(
        "/ratings",
        json={"event_id": event_id, "user_id": 7, "movie_id": 1, "rating": 5},
        headers=auth,
    )
    assert response.status_code == 202
    assert response.json() == {"event_id": event_id}
    assert event_id in consume_events(api_settings, [event_id])


def test_post_batch_is_on_the_topic(client: TestClient, api_settings: Settings, auth: dict[str, str]) -> None:
    events = [{"user_id": u, "movie_id": 10 + u, "rating": 0.5 * u} for u in range(1, 11)]
    response = client.post("/ratings/batch", json={"events": events}, headers=auth)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 10 and len(set(body["event_ids"])) == 10

    found = consume_events(api_settings, body["event_ids"])
    assert set(found) == set(body["event_ids"])
    for event_id, sent in zip(body["event_ids"], events):
        key, event = found[event_id]
        assert key == str(sent["user_id"]).encode()
        assert (event.user_id, event.movie_id, event.rating) == (
            sent["user_id"], sent["movie_id"], sent["rating"],
        )


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"X-API-Key": ""}], ids=["missing", "wrong", "empty"])
@pytest.mark.parametrize("path", ["/ratings", "/ratings/batch"])
def test_writes_need_the_api_key(client: TestClient, headers: dict[str, str], path: str) -> None:
    event = {"user_id": 1, "movie_id": 2, "rating": 3.0}
    body: Any = event if path == "/ratings" else {"events": [event]}
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 401
    assert "API key" in response.json()["detail"]


INVALID_EVENTS = {
    "rating_too_low": {"user_id": 1, "movie_id": 2, "rating": 0.0},
    "rating_too_high": {"user_id": 1, "movie_id": 2, "rating": 5.5},
    "rating_not_half_step": {"user_id": 1, "movie_id": 2, "rating": 4.3},
    "rating_nan": {"user_id": 1, "movie_id": 2, "rating": "NaN"},
    "unknown_field": {"user_id": 1, "movie_id": 2, "rating": 4.0, "comment": "great"},
    "user_id_as_string": {"user_id": "1", "movie_id": 2, "rating": 4.0},
    "movie_id_float": {"user_id": 1, "movie_id": 2.5, "rating": 4.0},
    "rating_not_a_number": {"user_id": 1, "movie_id": 2, "rating": "great"},
    "negative_user": {"user_id": -1, "movie_id": 2, "rating": 4.0},
    "missing_movie": {"user_id": 1, "rating": 4.0},
    "bad_event_id": {"event_id": "not-a-uuid", "user_id": 1, "movie_id": 2, "rating": 4.0},
    "bad_timestamp": {"user_id": 1, "movie_id": 2, "rating": 4.0, "timestamp": "yesterday"},
    "rating_true": {"user_id": 1, "movie_id": 2, "rating": True},
    "rating_as_string": {"user_id": 1, "movie_id": 2, "rating": "4.0"},
    "user_id_true": {"user_id": True, "movie_id": 2, "rating": 4.0},
    "user_id_too_large": {"user_id": 2**31, "movie_id": 2, "rating": 4.0},
    "timestamp_integer": {"user_id": 1, "movie_id": 2, "rating": 4.0, "timestamp": 0},
    "timestamp_without_offset": {"user_id": 1, "movie_id": 2, "rating": 4.0, "timestamp": "2009-12-14T02:52:24"},
    "timestamp_overflowing": {"user_id": 1, "movie_id": 2, "rating": 4, "timestamp": "9999-12-31T23:59:59-01:00"},
    "timestamp_year_1": {"user_id": 1, "movie_id": 2, "rating": 4, "timestamp": "0001-01-01T00:00:00Z"},
    "timestamp_next_week": {"user_id": 1, "movie_id": 2, "rating": 4, "timestamp": "2999-01-01T00:00:00Z"},
}


@pytest.mark.parametrize("name", INVALID_EVENTS)
def test_invalid_event_is_422(client: TestClient, auth: dict[str, str], name: str) -> None:
    response = client.post("/ratings", json=INVALID_EVENTS[name], headers=auth)
    assert response.status_code == 422, response.text
    error = response.json()["detail"][0]
    assert error["loc"][0] == "body"
    assert error["msg"]  # a reason, not just a status
    if name.startswith("timestamp_"):
        assert error["loc"] == ["body", "timestamp"]
        assert "timestamp" in error["msg"]


@pytest.mark.parametrize("name", ["rating_not_half_step", "unknown_field", "user_id_as_string"])
def test_one_invalid_event_fails_the_whole_batch(client: TestClient, auth: dict[str, str], name: str) -> None:
    good = {"user_id": 1, "movie_id": 2, "rating": 4.0}
    response = client.post("/ratings/batch", json={"events": [good, INVALID_EVENTS[name]]}, headers=auth)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:3] == ["body", "events", 1]


@pytest.mark.parametrize(
    "body",
    [{"events": []}, {"events": {"user_id": 1}}, [{"user_id": 1, "movie_id": 2, "rating": 4.0}], {"events": [], "extra": 1}],
    ids=["empty", "not_a_list", "bare_list", "unknown_field"],
)
def test_malformed_batch_is_422(client: TestClient, auth: dict[str, str], body: Any) -> None:
    assert client.post("/ratings/batch", json=body, headers=auth).status_code == 422


def test_not_json_is_422(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/ratings", content=b"{not json", headers=auth | {"Content-Type": "application/json"})
    assert response.status_code == 422


def test_batch_too_large_is_422(api_settings: Settings) -> None:
    settings = api_settings.model_copy(update={"max_batch_size": 3})
    events = [{"user_id": 1, "movie_id": m, "rating": 4.0} for m in range(1, 5)]
    with make_client(settings) as client:
        headers = {"X-API-Key": API_KEY}
        response = client.post("/ratings/batch", json={"events": events}, headers=headers)
        assert response.status_code == 422
        assert response.json()["detail"][0]["type"] == "too_long"
        # the count is checked before any event is validated: one error, not one per event
        invalid = client.post("/ratings/batch", json={"events": [{"rating": "x"}] * 5}, headers=headers)
        assert [e["type"] for e in invalid.json()["detail"]] == ["too_long"]
        assert client.post("/ratings/batch", json={"events": events[:3]}, headers=headers).status_code == 202
        metrics = client.get("/metrics").text
    assert 'reelstream_api_events_rejected_total{reason="invalid"} 9.0' in metrics
    assert "reelstream_api_events_accepted_total 3.0" in metrics


def test_broker_unreachable_is_503_and_nothing_is_accepted(api_settings: Settings) -> None:
    settings = api_settings.model_copy(update={"kafka_bootstrap_servers": f"127.0.0.1:{closed_port()}"})
    event_id = str(uuid.uuid4())
    with make_client(settings) as client:
        headers = {"X-API-Key": API_KEY}
        one = client.post(
            "/ratings", json={"event_id": event_id, "user_id": 1, "movie_id": 2, "rating": 4.0}, headers=headers
        )
        batch = client.post(
            "/ratings/batch",
            json={"events": [{"user_id": 1, "movie_id": m, "rating": 4.0} for m in (1, 2)]},
            headers=headers,
        )
        # authentication and validation still come first
        assert client.post("/ratings", json={"user_id": 1}, headers={}).status_code == 401
        assert client.post("/ratings", json={"user_id": 1}, headers=headers).status_code == 422
        metrics = client.get("/metrics").text

    assert one.status_code == 503
    detail = one.json()["detail"]
    assert detail["reason"] == "Kafka broker unreachable"  # no host, port or driver message
    assert "127.0.0.1" not in one.text and "Errno" not in batch.text
    assert detail["accepted_event_ids"] == []
    assert detail["unconfirmed_event_ids"] == [event_id]
    assert one.headers["Retry-After"]

    assert batch.status_code == 503
    assert batch.json()["detail"]["accepted_event_ids"] == []
    assert len(batch.json()["detail"]["unconfirmed_event_ids"]) == 2
    assert "reelstream_api_events_accepted_total 0.0" in metrics
    assert 'reelstream_api_events_rejected_total{reason="broker_unavailable"} 3.0' in metrics


def test_a_broker_that_never_answers_is_503_within_the_timeout(api_settings: Settings) -> None:
    """A port that accepts connections but never speaks Kafka: the publisher gives up after its
    timeout (1 s here) instead of hanging the request."""
    import socket
    import time

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        settings = api_settings.model_copy(
            update={"kafka_bootstrap_servers": f"127.0.0.1:{port}", "kafka_request_timeout_ms": 1000}
        )
        with make_client(settings) as client:
            started = time.monotonic()
            response = client.post(
                "/ratings", json={"user_id": 1, "movie_id": 2, "rating": 4.0},
                headers={"X-API-Key": API_KEY},
            )
            waited = time.monotonic() - started
    assert response.status_code == 503
    assert "Kafka broker unreachable" in response.json()["detail"]["reason"]
    assert len(response.json()["detail"]["unconfirmed_event_ids"]) == 1
    assert waited < 30  # bounded: not a hang (the limit is generous; speed is not tested here)
