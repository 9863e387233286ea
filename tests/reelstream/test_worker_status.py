from datetime import UTC, datetime, timedelta

from reelstream.worker_status import DeadLetterNote, WorkerStatus


def test_status_round_trips_through_json():
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    status = WorkerStatus(
        worker_id="w1",
        state="degraded",
        reason="redis unreachable",
        heartbeat_at=now,
        lag={0: 3, 2: 5},
        newest_learned_event_at=now - timedelta(seconds=2),
        events_learned=10,
        model_version="online-v0",
    )
    again = WorkerStatus.from_json(status.to_json())
    assert again == status
    assert again.total_lag == 8
    assert again.heartbeat_age_s(now + timedelta(seconds=4)) == 4.0


def test_status_reader_ignores_fields_it_does_not_know():
    raw = b'{"worker_id":"w","state":"ok","heartbeat_at":"2026-12-01T00:00:00+00:00","new":1}'
    assert WorkerStatus.from_json(raw).worker_id == "w"


def test_dead_letter_note_round_trips():
    note = DeadLetterNote(
        at=datetime(2026, 12, 1, tzinfo=UTC), error="bad json", stage="decode", offset=4
    )
    assert DeadLetterNote.from_json(note.to_json()) == note
