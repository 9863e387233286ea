"""Where a worker starts reading shared item deltas (real Redis): after the delta its
checkpoint had merged, at the stream's start for a model that learned nothing."""

from __future__ import annotations

from reelstream.models import OnlineConfig, OnlineRecommender
from reelstream.store import EventStore
from reelstream.streaming.item_stream import ItemSync
from tests.reelstream.streaming.test_processor import make_events, make_processor, messages

CONFIG = OnlineConfig(cold_start_min_ratings=1)


def _publish(settings, publisher: str, events) -> ItemSync:
    """A worker ``publisher`` that learned ``events`` and appended their delta."""
    sync, model = ItemSync(settings, publisher), OnlineRecommender(CONFIG)
    sync.exchange(model)  # attaches the journal
    for e in events:
        model.learn_one(e.user_id, e.movie_id, e.rating, e.timestamp.timestamp())
    assert sync.exchange(model).published == 1
    return sync


def test_a_model_that_learned_nothing_reads_what_others_published_before_it_started(worker_settings):
    _publish(worker_settings, "a", make_events(30, seed=1)).close()

    joining = ItemSync(worker_settings, "b")
    joining.resume(None, fresh_model=True)
    assert joining.exchange(OnlineRecommender(CONFIG)).events == 30

    restarted = ItemSync(worker_settings, "c")  # a model with history, no saved position
    restarted.resume(None, fresh_model=False)
    assert restarted.exchange(OnlineRecommender(CONFIG)).events == 0


def test_a_restart_reads_on_from_the_position_saved_with_its_checkpoint(worker_settings, cache):
    processor = make_processor(worker_settings, cache)
    processor.item_sync = ItemSync(worker_settings, "w")
    processor.item_sync.resume(None, fresh_model=True)
    processor.handle(messages(make_events(20, seed=2)))  # exchanges: position set
    processor.checkpoint()
    with EventStore(worker_settings.postgres_dsn) as store:
        saved = store.load_checkpoint(worker_settings.worker_id).offsets
    assert saved["items"] == processor.item_sync.position
    processor.close()

    _publish(worker_settings, "other", make_events(25, seed=3)).close()  # while "w" is down

    restarted = make_processor(worker_settings, cache)
    restarted.recover()
    assert restarted.items_position == saved["items"]
    sync = ItemSync(worker_settings, "w")
    sync.resume(restarted.items_position, fresh_model=False)
    assert sync.exchange(restarted.model).events == 25


def test_batches_within_the_exchange_interval_share_one_delta_and_a_checkpoint_sends_it(
    worker_settings, cache
):
    processor = make_processor(worker_settings, cache)
    processor.item_sync = ItemSync(worker_settings, "w", every_s=3600)
    processor.item_sync.resume(None, fresh_model=True)
    events = make_events(40, seed=4)
    processor.handle(messages(events[:20]))  # the first batch exchanges (attaches the journal)
    processor.handle(messages(events[20:]))  # within the interval: kept in the journal
    assert processor.item_sync.totals.published == 0
    processor.checkpoint()
    assert processor.item_sync.totals.published == 1
    processor.close()

    joining = ItemSync(worker_settings, "other")
    joining.resume(None, fresh_model=True)
    assert joining.exchange(OnlineRecommender(CONFIG)).events == 20
