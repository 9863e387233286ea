"""Under a backlog, users' lists wait and several batches make one list per user (real
PostgreSQL and Redis); nothing waiting is lost to a checkpoint or a restart."""

from __future__ import annotations

from datetime import timedelta

from reelstream.schemas import RatingEvent
from tests.reelstream.streaming.test_processor import START, make_events, make_processor, messages


def _apply(processor, events, *, backlog: bool):
    return processor.apply(processor.prepare(messages(events)), backlog=backlog)


def _events_of(user: int, count: int, first_movie: int = 1) -> list[RatingEvent]:
    return [
        RatingEvent(user_id=user, movie_id=first_movie + i, rating=4.0,
                    timestamp=START + timedelta(hours=1, minutes=i))
        for i in range(count)
    ]


def test_waiting_lists_are_written_once_with_each_users_newest_event(worker_settings, cache):
    processor = make_processor(worker_settings, cache, list_max_delay_s=3600)
    first, second = _events_of(7, 3), _events_of(7, 3, first_movie=10)

    outcome = _apply(processor, first, backlog=True)
    assert outcome.users_refreshed == 0 and cache.get_user_recommendations(7) is None
    _apply(processor, second, backlog=True)
    assert processor.lists_waiting == 1

    assert processor.write_lists() == 1
    recs = cache.get_user_recommendations(7)
    assert recs is not None and recs.last_event_id == second[-1].event_id
    assert processor.lists_waiting == 0


def test_a_batch_without_backlog_writes_what_was_waiting(worker_settings, cache):
    processor = make_processor(worker_settings, cache, list_max_delay_s=3600)
    _apply(processor, _events_of(7, 2), backlog=True)
    outcome = _apply(processor, _events_of(8, 2), backlog=False)
    assert outcome.users_refreshed == 2
    assert cache.get_user_recommendations(7) and cache.get_user_recommendations(8)


def test_an_outcome_says_whether_lists_wait_and_an_empty_batch_writes_them(worker_settings, cache):
    processor = make_processor(worker_settings, cache, list_max_delay_s=3600)
    assert _apply(processor, _events_of(7, 2), backlog=True).lists_owed  # not acknowledged yet
    outcome = _apply(processor, [], backlog=False)  # the worker asking for the waiting lists
    assert not outcome.lists_owed and outcome.users_refreshed == 1
    assert cache.get_user_recommendations(7) is not None


def test_lists_that_waited_their_maximum_delay_are_written_under_backlog(worker_settings, cache):
    processor = make_processor(worker_settings, cache, list_max_delay_s=0)
    outcome = _apply(processor, _events_of(7, 2), backlog=True)
    assert outcome.users_refreshed == 1 and cache.get_user_recommendations(7)


def test_lists_wait_longer_while_the_worker_catches_up(worker_settings, cache):
    processor = make_processor(
        worker_settings, cache, list_max_delay_s=0, list_catchup_unread=1000,
        list_catchup_delay_s=3600,
    )
    processor.lists.unread = 1000  # the consumer's last report: a replay is still queued
    assert processor.lists.catching_up
    assert _apply(processor, _events_of(7, 2), backlog=True).users_refreshed == 0
    processor.lists.unread = 999  # caught up: the usual delay (here none) again
    assert not processor.lists.catching_up
    assert _apply(processor, _events_of(8, 2), backlog=True).users_refreshed == 2


def test_a_checkpoint_writes_the_waiting_lists_first(worker_settings, cache):
    processor = make_processor(worker_settings, cache, list_max_delay_s=3600)
    _apply(processor, _events_of(7, 2), backlog=True)
    processor.checkpoint()
    assert processor.lists_waiting == 0 and cache.get_user_recommendations(7)


def test_a_restart_writes_the_lists_its_predecessor_left_waiting(worker_settings, cache):
    events = make_events(120, seed=4)
    first = make_processor(worker_settings, cache, list_max_delay_s=3600,
                           checkpoint_every_events=10**9)
    first.handle(messages(events[:60]))
    first.checkpoint()
    _apply(first, events[60:], backlog=True)  # learned and acknowledged; then "killed"
    waiting = {e.user_id: e for e in events[60:]}
    stale = [u for u, e in waiting.items()
             if cache.get_user_recommendations(u).last_event_id != e.event_id]
    assert stale  # the test means something: some lists were behind

    second = make_processor(worker_settings, cache, checkpoint_every_events=10**9)
    assert second.recover() == 60
    for user, event in waiting.items():
        assert cache.get_user_recommendations(user).last_event_id == event.event_id


def test_a_checkpoint_while_catching_up_leaves_lists_waiting_and_a_restart_writes_them(
    worker_settings, cache
):
    events = make_events(120, seed=5)
    first = make_processor(
        worker_settings, cache, list_max_delay_s=3600, list_catchup_unread=1000,
        list_catchup_delay_s=3600, checkpoint_every_events=60, checkpoint_max_share=1e9,
    )
    first.handle(messages(events[:60]))  # checkpointed, lists written
    first.checkpoints.wait()
    first.lists.unread = 1000  # a replay is queued behind these events
    _apply(first, events[60:], backlog=True)  # learned, checkpointed, acknowledged; "killed"
    assert first.lists_waiting
    first.checkpoints.wait()
    saved = first.store.load_checkpoint(first.checkpoint_name)
    assert saved.offsets["seq"] == first.last_seq and "lists_owed_after" in saved.offsets
    waiting = {e.user_id: e for e in events[60:]}
    stale = [u for u, e in waiting.items()
             if (cached := cache.get_user_recommendations(u)) is None
             or cached.last_event_id != e.event_id]
    assert stale  # the checkpoint did not write them

    second = make_processor(worker_settings, cache, checkpoint_every_events=10**9)
    assert second.recover() == 0  # nothing to re-learn ...
    for user, event in waiting.items():  # ... but every list left waiting is written
        assert cache.get_user_recommendations(user).last_event_id == event.event_id
