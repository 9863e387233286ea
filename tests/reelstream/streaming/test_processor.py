"""BatchProcessor against the real PostgreSQL and Redis of the embedded stack."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from reelstream.models import OnlineConfig, OnlineRecommender
from reelstream.schemas import RatingEvent
from reelstream.store import EventStore
from reelstream.streaming.messages import RawMessage
from reelstream.streaming.prepared_batch import ProcessorConfig
from reelstream.streaming.processor import BatchProcessor

START = datetime(2020, 1, 1, tzinfo=UTC)


def make_events(n: int, seed: int = 0, users: int = 15, movies: int = 60) -> list[RatingEvent]:
    rng = random.Random(seed)
    seen: set[tuple[int, int]] = set()
    events = []
    while len(events) < n:
        user, movie = rng.randint(1, users), rng.randint(1, movies)
        if (user, movie) in seen:
            continue
        seen.add((user, movie))
        events.append(
            RatingEvent(user_id=user, movie_id=movie, rating=rng.randint(1, 10) / 2,
                        timestamp=START + timedelta(minutes=len(events)))
        )
    return events


def messages(events: list[RatingEvent], offset: int = 0) -> list[RawMessage]:
    return [
        RawMessage(value=e.to_bytes(), key=e.key, topic="ratings", partition=0, offset=offset + i)
        for i, e in enumerate(events)
    ]


def make_processor(settings, cache, **config) -> BatchProcessor:
    return BatchProcessor(
        store=EventStore(settings.postgres_dsn),
        cache=cache,
        model=OnlineRecommender(OnlineConfig(cold_start_min_ratings=1)),
        checkpoint_name=settings.worker_id,
        config=ProcessorConfig(top_n=10, **config),
    )


def test_batch_is_stored_learned_and_cached(worker_settings, cache):
    events = make_events(200)
    processor = make_processor(worker_settings, cache)
    outcome = processor.handle(messages(events))

    assert (outcome.stored, outcome.duplicates, outcome.dead_letters) == (200, 0, [])
    assert processor.store.count_ratings() == 200
    assert processor.model.events_learned == 200
    rated = processor.store.rated_movie_ids({e.user_id for e in events})
    for user_id, movies in rated.items():
        recs = cache.get_user_recommendations(user_id)
        assert recs is not None and recs.source == "personal"
        assert recs.items and not {r.movie_id for r in recs.items} & movies
        last = [e for e in events if e.user_id == user_id][-1]
        assert recs.last_event_id == last.event_id
        assert recs.model_version == processor.model.version
    assert cache.get_popular(5)


def test_redelivered_batch_changes_nothing(worker_settings, cache):
    events = make_events(50)
    processor = make_processor(worker_settings, cache)
    processor.handle(messages(events))
    before = processor.model.to_bytes()

    outcome = processor.handle(messages(events) + messages(events[:5]))

    assert (outcome.stored, outcome.duplicates) == (0, 55)
    assert processor.store.count_ratings() == 50
    assert processor.model.events_learned == 50
    assert processor.model.to_bytes() == before


def test_malformed_messages_become_dead_letters_and_the_rest_goes_on(worker_settings, cache):
    good = make_events(10)
    bad = [b"{not json", b'{"user_id": "x", "movie_id": 1, "rating": 4.0}',
           b'{"user_id": 1, "movie_id": 1, "rating": 9.0}', None]
    batch = messages(good[:5]) + [RawMessage(value=v, topic="ratings", partition=0, offset=100 + i)
                                  for i, v in enumerate(bad)] + messages(good[5:], offset=200)

    outcome = BatchProcessor.handle(make_processor(worker_settings, cache), batch)

    assert outcome.stored == 10
    assert [d.message.value for d in outcome.dead_letters] == bad
    assert all(d.stage == "validate" and d.error for d in outcome.dead_letters)
    assert "rating" in outcome.dead_letters[2].error
    headers = dict(outcome.dead_letters[0].headers())
    assert headers["reelstream.source.offset"] == b"100"


def test_restart_learns_exactly_what_was_stored_after_the_checkpoint(worker_settings, cache):
    events = make_events(300, seed=1)
    uninterrupted = OnlineRecommender(OnlineConfig(cold_start_min_ratings=1))
    for e in events:
        uninterrupted.learn_one(e.user_id, e.movie_id, e.rating, e.timestamp.timestamp())

    first = make_processor(worker_settings, cache, checkpoint_every_events=10**9)
    first.handle(messages(events[:100]))
    first.checkpoint()
    first.handle(messages(events[100:220]))  # stored, learned, but never checkpointed: "killed"

    second = make_processor(worker_settings, cache, checkpoint_every_events=10**9)
    caught_up = second.recover()
    assert caught_up == 120
    # the at-least-once window: Kafka redelivers some events the first worker had stored
    outcome = second.handle(messages(events[180:300]))
    assert (outcome.stored, outcome.duplicates) == (80, 40)

    assert second.store.count_ratings() == 300
    assert second.model.events_learned == 300
    for e in random.Random(2).sample(events, 30):
        assert second.model.predict_one(e.user_id, e.movie_id) == pytest.approx(
            uninterrupted.predict_one(e.user_id, e.movie_id)
        )


def test_background_checkpoints_pair_the_model_with_its_sequence(worker_settings, cache):
    """Checkpoints written off the hot path still hold one consistent snapshot, and a
    restart from the last of them learns exactly the rest."""
    events = make_events(400, seed=3)
    first = make_processor(worker_settings, cache, checkpoint_every_events=150)
    for start in range(0, 400, 50):
        first.handle(messages(events[start:start + 50]))
    first.close()  # waits for the write in flight
    with EventStore(worker_settings.postgres_dsn) as store:
        saved = store.load_checkpoint(worker_settings.worker_id)
        stored_up_to_seq = len(store.ratings_after(0, limit=10**6)) - len(
            store.ratings_after(saved.offsets["seq"], limit=10**6)
        )
    model = OnlineRecommender.from_bytes(saved.model)
    # Written in the background: mid-stream, or at the last batch when a slow write in flight
    # pushed the next snapshot there.
    assert 150 <= model.events_learned <= 400
    assert model.events_learned == saved.events_learned == stored_up_to_seq

    second = make_processor(worker_settings, cache)
    assert second.recover() == 400 - model.events_learned
    assert second.model.events_learned == 400
    second.close()


def test_a_redelivered_event_repairs_a_lost_cache_entry(worker_settings, cache):
    events = make_events(40)
    processor = make_processor(worker_settings, cache)
    processor.handle(messages(events))
    user = events[-1].user_id
    cache.client.delete(cache.user_key(user))  # the worker "died" before writing Redis

    outcome = processor.handle(messages(events[-1:]))

    assert (outcome.stored, outcome.duplicates) == (0, 1)
    recs = cache.get_user_recommendations(user)
    assert recs is not None and recs.last_event_id == events[-1].event_id
    assert processor.model.events_learned == 40


def test_an_old_duplicate_never_rolls_a_list_back(worker_settings, cache):
    events = make_events(40)
    processor = make_processor(worker_settings, cache)
    processor.handle(messages(events))
    user = events[-1].user_id
    older = [e for e in events if e.user_id == user][0]
    assert older.event_id != events[-1].event_id

    processor.handle(messages([older]))

    assert cache.get_user_recommendations(user).last_event_id == events[-1].event_id


def test_registry_probe_says_unreachable_without_importing_mlflow():
    from reelstream.settings import Settings
    from reelstream.streaming.promotion import fetch_new_champion, registry_reachable

    from reelstream.processes import free_port

    closed = Settings(_env_file=None, mlflow_tracking_uri=f"http://127.0.0.1:{free_port()}")
    assert not registry_reachable(closed)
    with pytest.raises(ConnectionError, match="not reachable"):
        fetch_new_champion(closed, None)
    assert registry_reachable(Settings(_env_file=None, mlflow_tracking_uri="sqlite:///unused.db"))


def test_rated_movies_get_similar_lists_bounded_per_batch(worker_settings, cache):
    events = make_events(200)
    processor = make_processor(worker_settings, cache, similar_per_batch=5)
    processor.handle(messages(events))

    newest_first = list(dict.fromkeys(e.movie_id for e in reversed(events)))
    written = [m for m in newest_first if cache.get_similar(m)]
    assert written == newest_first[:5]
    similar = cache.get_similar(newest_first[0])
    assert newest_first[0] not in {r.movie_id for r in similar}
    assert [r.score for r in similar] == sorted((r.score for r in similar), reverse=True)


def test_similar_lists_keep_to_a_per_second_budget(worker_settings, cache):
    events = make_events(300, movies=200)
    # no refill to speak of
    processor = make_processor(worker_settings, cache, similar_per_batch=5, similar_per_s=1e-9)
    processor.handle(messages(events[:100]))
    processor.handle(messages(events[100:], offset=100))  # the first batch spent the budget

    later = {e.movie_id for e in events[100:]} - {e.movie_id for e in events[:100]}
    assert not [m for m in later if cache.get_similar(m)]
    assert sum(1 for m in {e.movie_id for e in events[:100]} if cache.get_similar(m)) == 5


def test_a_redelivery_repairs_a_list_behind_by_an_event_with_the_same_timestamp(worker_settings, cache):
    """Two events of one user with the same timestamp: the list must name the one stored last
    (a worker died after storing it, before writing Redis), not just one as recent."""
    first, second = make_events(2, users=1)
    second = second.model_copy(update={"timestamp": first.timestamp})
    processor = make_processor(worker_settings, cache)
    processor.handle(messages([first]))
    processor.prepare(messages([second], offset=1))  # stored, then the worker "died"
    assert cache.get_user_recommendations(first.user_id).last_event_id == first.event_id

    outcome = processor.handle(messages([second], offset=1))  # Kafka redelivers it

    assert (outcome.stored, outcome.duplicates) == (0, 1)
    assert cache.get_user_recommendations(first.user_id).last_event_id == second.event_id


def test_an_event_postgresql_refuses_is_dead_lettered_and_the_rest_stored(worker_settings, cache):
    import psycopg

    events = make_events(40)
    poison = events[17]
    processor = make_processor(worker_settings, cache)
    insert = processor.store.insert_ratings

    def refusing(batch, **kwargs):
        if poison in batch:
            raise psycopg.errors.NumericValueOutOfRange("integer out of range")
        return insert(batch, **kwargs)

    processor.store.insert_ratings = refusing
    outcome = processor.handle(messages(events))

    assert outcome.stored == 39 and processor.model.events_learned == 39
    [letter] = outcome.dead_letters
    assert (letter.message.offset, letter.stage) == (17, "store")
    assert "NumericValueOutOfRange: integer out of range" in letter.error


def test_a_corrupt_checkpoint_is_skipped_and_the_stored_events_relearned(worker_settings, cache):
    events = make_events(50)
    first = make_processor(worker_settings, cache)
    first.handle(messages(events))
    first.checkpoint()
    first.close()
    with EventStore(worker_settings.postgres_dsn) as store:
        store.save_checkpoint(worker_settings.worker_id, b"garbage", {"seq": 10**6}, 50)

    restarted = make_processor(worker_settings, cache)
    assert restarted.recover() == 50  # from the start: the checkpoint's seq is not trusted
    assert restarted.model.events_learned == 50
    assert restarted.handle(messages(events)).stored == 0  # redelivery: duplicates, not relearned
    assert restarted.model.events_learned == 50
