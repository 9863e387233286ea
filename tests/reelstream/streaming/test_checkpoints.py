"""Checkpoint cadence and the background writer, on the real PostgreSQL of the stack."""

from __future__ import annotations

from reelstream.store import EventStore
from reelstream.streaming.checkpoints import Checkpointer


def test_a_checkpoint_falls_due_by_count_and_is_written_in_the_background(worker_settings):
    checkpoints = Checkpointer("cadence", worker_settings.postgres_dsn, every_events=10, every_s=1e9)
    taken = []

    def snapshot():
        taken.append(checkpoints.since)
        return b"model", {"seq": 7}, 42

    checkpoints.learned(5)
    checkpoints.maybe(snapshot)
    assert taken == [] and not checkpoints.due
    checkpoints.learned(5)
    checkpoints.maybe(snapshot)
    checkpoints.close()

    assert taken == [10] and checkpoints.since == 0
    with EventStore(worker_settings.postgres_dsn) as store:
        saved = store.load_checkpoint("cadence")
    assert (saved.model, saved.offsets, saved.events_learned) == (b"model", {"seq": 7}, 42)


def test_nothing_learned_means_no_checkpoint_however_long_ago(worker_settings):
    checkpoints = Checkpointer("idle", worker_settings.postgres_dsn, every_events=10, every_s=0.0)
    assert not checkpoints.due
    checkpoints.learned(1)
    assert checkpoints.due
    checkpoints.close()


def test_a_costly_snapshot_holds_the_next_checkpoint_back(worker_settings):
    checkpoints = Checkpointer("costly", worker_settings.postgres_dsn, every_events=1,
                               every_s=1e9, max_share=0.02)

    def snapshot():
        sum(range(2_000_000))  # ~50 ms of CPU: the next one is due ~2.5 s later at the earliest
        return b"model", {"seq": 1}, 1

    checkpoints.learned(1)
    checkpoints.maybe(snapshot)
    assert checkpoints.cost_s > 0.01
    checkpoints.learned(1)
    assert not checkpoints.due  # by count it would be
    checkpoints._at -= checkpoints.cost_s / checkpoints.max_share
    assert checkpoints.due
    checkpoints.close()
