"""The store-only sink on the embedded stack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reelstream.kafka import committed_offsets, ensure_topics, make_producer
from reelstream.schemas import RatingEvent
from reelstream.sink import run_sink
from reelstream.store import EventStore


def test_sink_stores_each_event_once_dead_letters_the_bad_and_commits(isolated):
    ensure_topics(isolated, {isolated.ratings_topic: 2, isolated.dlq_topic: 1})
    start = datetime(2021, 5, 1, tzinfo=UTC)
    events = [
        RatingEvent(user_id=1 + i % 5, movie_id=100 + i, rating=4.0, timestamp=start + timedelta(seconds=i))
        for i in range(100)
    ]
    producer = make_producer(isolated)
    for event in events + events[:10]:  # ten duplicates
        producer.send(isolated.ratings_topic, key=event.key, value=event.to_bytes())
    producer.send(isolated.ratings_topic, key=b"1", value=b"not json")
    producer.flush()
    producer.close()

    report = run_sink(isolated, stop_after=111, idle_timeout_s=20)

    assert (report.consumed, report.stored, report.dead_letters) == (111, 100, 1)
    with EventStore(isolated.postgres_dsn) as store:
        assert store.count_ratings() == 100
    assert sum(committed_offsets(isolated, isolated.consumer_group, isolated.ratings_topic).values()) == 111


def test_sink_dead_letters_every_poison_message_and_goes_on(isolated):
    from benchmarks.chaos_probe import POISON, dead_letters, send, stored_ids, synthetic_events

    ensure_topics(isolated, {isolated.ratings_topic: 1, isolated.dlq_topic: 1})
    events = synthetic_events(40)
    send(isolated, [*events[:20], *((k, v) for _, k, v in POISON), *events[20:]])

    report = run_sink(isolated, stop_after=40 + len(POISON), idle_timeout_s=20)

    assert (report.stored, report.dead_letters) == (40, len(POISON))
    assert len(stored_ids(isolated, [e.event_id for e in events])) == 40
    letters = {value: headers for value, headers in dead_letters(isolated)}
    for name, _, value in POISON:
        headers = letters[value or b""]
        assert headers["reelstream.error"], name
        assert headers["reelstream.stage"] == b"validate"
