"""One batch of rating messages: validate → store → learn → refresh top-N in Redis.

The order is what makes the worker at-least-once and duplicate-safe:

1. malformed messages become dead letters (returned to the caller, who sends them to the DLQ
   before the batch is acknowledged);
2. valid events are inserted into PostgreSQL with ``ON CONFLICT DO NOTHING``; only the
   event ids that were *newly* stored are learned, so a redelivered event is a no-op;
3. the online model learns them in order, then every affected user's top-N is written to
   Redis in one pipeline, with the last event it includes;
4. the caller acknowledges the batch only after :meth:`BatchProcessor.handle` returned.

The model and the PostgreSQL sequence number of the last event it learned are checkpointed
together, so a restarted worker restores the model and learns, from PostgreSQL, exactly the
events stored after that checkpoint (see :meth:`BatchProcessor.recover`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from reelstream.cache import RecommendationCache
from reelstream.catalog import MovieCatalog
from reelstream.models.online import OnlineRecommender
from reelstream.recommendation_format import PageRenderer
from reelstream.schemas import RatingEvent
from reelstream.store import EventStore
from reelstream.streaming.cache_writer import CacheWriter
from reelstream.streaming.checkpoints import BackgroundCheckpoints
from reelstream.streaming.decode import BadMessage, decode_rating
from reelstream.streaming.messages import BatchOutcome, DeadLetter, RawMessage
from reelstream.streaming.metrics import (
    BATCH_SECONDS,
    DEAD_LETTERS,
    EVENTS,
    MODEL_EVENTS,
)
from reelstream.streaming.resilience import describe, waits_out

__all__ = ["BatchProcessor", "BatchOutcome", "PreparedBatch"]

log = logging.getLogger(__name__)

#: PostgreSQL being away must not drop a batch: wait until it is back (Redis: CacheWriter).
_waits_for_postgres = waits_out("PostgreSQL")


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A batch validated and stored, not yet learned (see :meth:`BatchProcessor.prepare`)."""

    size: int  # messages received
    events: dict[object, tuple[RatingEvent, RawMessage]]  # valid, by event_id, first kept
    dead_letters: list[DeadLetter]
    histories: dict[int, set[int]]  # first-seen users' earlier movies
    stored: list[tuple[RatingEvent, int]]  # newly stored, in batch order, with their seq
    latest: dict[int, RatingEvent]  # users with only duplicates here: their latest stored event
    started: float


class BatchProcessor(CacheWriter):
    """Applies batches of raw rating messages to the store, the model and the cache."""

    def __init__(
        self,
        *,
        store: EventStore,
        cache: RecommendationCache,
        model: OnlineRecommender,
        checkpoint_name: str,
        top_n: int = 20,
        popular_n: int = 100,
        checkpoint_every_events: int = 5000,
        checkpoint_every_s: float = 30.0,
        similar_per_batch: int = 20,
        similar_per_s: float = 50.0,
        similar_every_s: float = 60.0,
        item_sync=None,  # noqa: ANN001 - a reelstream.streaming.item_sync.ItemSync
    ) -> None:
        self.store = store
        self.cache = cache
        self.model = model
        self.checkpoint_name = checkpoint_name
        self.top_n = top_n
        self.popular_n = popular_n
        self.checkpoint_every_events = checkpoint_every_events
        self.checkpoint_every_s = checkpoint_every_s
        # Similar-movie lists are refreshed for the movies just rated: at most
        # similar_per_batch per batch and similar_per_s per second (a token bucket, full at
        # start), each movie at most once every similar_every_s, so they stay off the hot
        # path's budget (at 20 per batch they took ~16% of the processing time at full load).
        self.similar_per_batch = similar_per_batch
        self.similar_per_s = similar_per_s
        self.similar_every_s = similar_every_s
        self._similar_at: dict[int, float] = {}
        self._similar_tokens = float(similar_per_batch)
        self._similar_tokens_at = time.monotonic()
        self.last_seq = 0
        self._applying: PreparedBatch | None = None  # the batch apply works on
        self.learning = 0  # how many of its stored events the learning loop has reached
        # What the heartbeat reports (read from another thread: plain attributes).
        self.totals = {"stored": 0, "duplicates": 0, "dead_letters": 0}
        self.newest_learned_at: datetime | None = None
        self._since_checkpoint = 0
        self._checkpointed_at = time.monotonic()
        self._background = BackgroundCheckpoints(store.dsn)
        self._known_users: set[int] = set()  # users whose stored history the model knows
        # Each list is written with its default page, rendered here for the API to serve as
        # is. Titles come from a catalogue filled in prepare (which already talks to
        # PostgreSQL), so apply never queries for them; a list naming a movie it lacks is
        # written without a page, and the API renders that one itself.
        self.pages = PageRenderer(MovieCatalog(store))
        self.item_sync = item_sync  # item state shared with the other workers, or None

    # -- start-up ---------------------------------------------------------------------------
    def recover(self) -> int:
        """Restore the last checkpoint and learn what was stored after it; return that count.

        A checkpoint that cannot be loaded (corrupt, or from an incompatible model) is logged
        and skipped: the worker starts from a fresh model (the champion is adopted on top of
        it when the promotion listener starts) and learns every event it stored.
        """
        checkpoint = self._load_checkpoint()
        if checkpoint is not None:
            try:
                model = OnlineRecommender.from_bytes(checkpoint.model)
                _check_model(model)
            except Exception as exc:  # noqa: BLE001 - any unreadable checkpoint is skipped
                log.error(
                    "checkpoint %r (%d bytes, %s) is unusable, skipping it and re-learning "
                    "from PostgreSQL: %s",
                    self.checkpoint_name, len(checkpoint.model), checkpoint.updated_at, describe(exc),
                )
            else:
                self.model = model
                self.last_seq = int(checkpoint.offsets.get("seq", 0))
        caught_up = 0
        while True:
            rows = self._ratings_after(self.last_seq)
            if not rows:
                break
            for row in rows:
                try:
                    self._learn(row.event)
                except Exception:  # noqa: BLE001 - dead-lettered when it first arrived
                    log.exception("learning stored event %s failed; skipped", row.event.event_id)
                self.last_seq = row.seq
                self._note_learned(row.event.timestamp)
            caught_up += len(rows)
        if caught_up:
            self.checkpoint()
        self._prefetch_movies(set(self.model.index.ids.tolist()))
        MODEL_EVENTS.set(self.model.events_learned)
        return caught_up

    @_waits_for_postgres
    def _load_checkpoint(self):  # noqa: ANN202
        return self.store.load_checkpoint(self.checkpoint_name)

    @_waits_for_postgres
    def _ratings_after(self, seq: int):  # noqa: ANN202
        return self.store.ratings_after(seq, ingested_by=self.checkpoint_name)

    def _note_learned(self, at: datetime) -> None:
        if self.newest_learned_at is None or at > self.newest_learned_at:
            self.newest_learned_at = at

    # -- the hot path -----------------------------------------------------------------------
    def handle(self, messages: Sequence[RawMessage]) -> BatchOutcome:
        """Process one batch: :meth:`prepare` then :meth:`apply`."""
        return self.apply(self.prepare(messages))

    def prepare(self, messages: Sequence[RawMessage]) -> PreparedBatch:
        """Validate, read first-seen users' histories, store: everything up to the model.

        It reads no model state and writes none, so the processor process runs it for the
        next batch on a thread (its PostgreSQL round trips then overlap :meth:`apply` of this
        one); batches must still be applied in the order they were prepared.
        """
        started = time.perf_counter()
        dead_letters: list[DeadLetter] = []
        events: dict[object, tuple[RatingEvent, RawMessage]] = {}
        for message in messages:
            try:
                event = decode_rating(message.value, message.key)
            except BadMessage as exc:
                dead_letters.append(DeadLetter(message, str(exc), "validate"))
                continue
            events.setdefault(event.event_id, (event, message))
        histories = self._read_histories({event.user_id for event, _ in events.values()})
        self._prefetch_movies({event.movie_id for event, _ in events.values()})
        stored: list[tuple[RatingEvent, int]] = []
        if events:
            stored, refused = self._store_isolating([event for event, _ in events.values()])
            for event, error in refused:
                dead_letters.append(DeadLetter(events.pop(event.event_id)[1], error, "store"))
        only_duplicates = {e.user_id for e, _ in events.values()} - {e.user_id for e, _ in stored}
        latest = self._latest_events(only_duplicates) if only_duplicates else {}
        return PreparedBatch(
            len(messages), events, dead_letters, histories, stored, latest, started
        )

    def apply(self, batch: PreparedBatch) -> BatchOutcome:
        """Learn the newly stored events in order, then refresh Redis; maybe checkpoint."""
        self._applying, self.learning = batch, 0
        self._apply_histories(batch.histories)
        events, stored = batch.events, batch.stored
        outcome = BatchOutcome(dead_letters=list(batch.dead_letters))
        outcome.stored = len(stored)
        outcome.duplicates = batch.size - len(outcome.dead_letters) - len(stored)

        failed: set[object] = set()
        for event, seq in stored:
            self.learning += 1  # how far this batch got (_learn's failures are caught)
            try:
                self._learn(event)
            except Exception as exc:  # a bad event must not stop the stream: dead-letter it
                log.exception("learning event %s failed", event.event_id)
                outcome.dead_letters.append(
                    DeadLetter(events[event.event_id][1], describe(exc), "process")
                )
                failed.add(event.event_id)
                continue
            self.last_seq = max(self.last_seq, seq)

        if stored:
            self._note_learned(max(event.timestamp for event, _ in stored))
        if self.item_sync is not None:
            self._exchange_items()
        new_ids = {event.event_id for event, _ in stored} - failed
        last_event = {
            event.user_id: event for event, _ in events.values() if event.event_id in new_ids
        }
        last_event.update(self._lost_in_cache(batch.latest))
        if last_event:
            self._refresh(last_event)
        self._refresh_similar([event.movie_id for event, _ in reversed(stored)])
        outcome.users_refreshed = len(last_event)
        self._since_checkpoint += len(stored)
        self._maybe_checkpoint()

        self.totals["stored"] += outcome.stored
        self.totals["duplicates"] += outcome.duplicates
        self.totals["dead_letters"] += len(outcome.dead_letters)
        EVENTS.labels("stored").inc(outcome.stored)
        EVENTS.labels("duplicate").inc(outcome.duplicates)
        for letter in outcome.dead_letters:
            DEAD_LETTERS.labels(letter.stage).inc()
        MODEL_EVENTS.set(self.model.events_learned)
        BATCH_SECONDS.observe(time.perf_counter() - batch.started)
        return outcome

    def unlearned(self, batch: PreparedBatch) -> list[PreparedBatch]:
        """After :meth:`apply` of ``batch`` raised: its stored events not learned yet, each as
        a batch of its own (stored already, so a retry through :meth:`prepare` would see
        duplicates and never learn them)."""
        rest = batch.stored[self.learning :] if self._applying is batch else batch.stored
        return [
            PreparedBatch(
                1, {event.event_id: batch.events[event.event_id]}, [], {}, [(event, seq)], {},
                time.perf_counter(),
            )
            for event, seq in rest
        ]

    def _store_isolating(
        self, events: list[RatingEvent]
    ) -> tuple[list[tuple[RatingEvent, int]], list[tuple[RatingEvent, str]]]:
        """Insert; an event PostgreSQL refuses (not an outage: that is waited out) is found by
        bisecting the batch and returned with the error, the others are stored."""
        try:
            return self._store(events), []
        except Exception as exc:  # noqa: BLE001 - outages never get here (waited out)
            if len(events) == 1:
                log.warning("event %s refused by PostgreSQL: %s", events[0].event_id, describe(exc))
                return [], [(events[0], describe(exc))]
        half = len(events) // 2
        stored, refused = self._store_isolating(events[:half])
        more_stored, more_refused = self._store_isolating(events[half:])
        return stored + more_stored, refused + more_refused

    @_waits_for_postgres
    def _store(self, events: list[RatingEvent]) -> list[tuple[RatingEvent, int]]:
        """Insert, returning the newly stored events (in batch order) with their sequence."""
        new = self.store.insert_ratings(events, ingested_by=self.checkpoint_name)
        return [(event, new[event.event_id]) for event in events if event.event_id in new]

    def _learn(self, event: RatingEvent) -> None:
        self.model.learn_one(
            event.user_id, event.movie_id, event.rating, event.timestamp.timestamp()
        )

    @_waits_for_postgres
    def _read_histories(self, user_ids: set[int]) -> dict[int, set[int]]:
        """Movies stored for the users this worker has not seen yet (e.g. after a rebalance).

        The model must know every movie a user rated to exclude it from their top-N, also
        when those ratings were learned by another worker or before a restart. Read before
        this batch is stored, so a history holds only earlier ratings.
        """
        new_users = user_ids - self._known_users
        return self.store.rated_movie_ids(new_users) if new_users else {}

    def _apply_histories(self, histories: dict[int, set[int]]) -> None:
        for user_id, movies in histories.items():
            for movie in movies:
                row = self.model.index.get(movie)
                if row is not None:
                    self.model.rated.add(user_id, row)
        if histories:
            self._known_users = self._known_users | histories.keys()  # rebound, not mutated

    def _prefetch_movies(self, movie_ids: set[int]) -> None:
        """Titles for the page renderer: every movie the model can recommend was rated in
        some batch (or is in the restored model), so loading a batch's movies here covers
        them; after a promotion, a movie only the new model knows means a list without page
        until it is rated here. Not retried: with PostgreSQL down the catalogue answers from
        what it has, and lists it cannot render go without a page."""
        self.pages.prefetch(movie_ids)

    def _exchange_items(self) -> None:
        """Apply the other workers' item deltas, publish this batch's (best-effort: sharing
        never stops the stream)."""
        try:
            self.item_sync.exchange(self.model)
        except Exception:  # noqa: BLE001
            log.exception("item state exchange failed; continuing with local item state")

    @_waits_for_postgres
    def _latest_events(self, user_ids: set[int]) -> dict[int, RatingEvent]:
        return self.store.latest_events(user_ids)

    # -- checkpoints ------------------------------------------------------------------------
    def _maybe_checkpoint(self) -> None:
        """Every N events or T seconds: snapshot the model now, write it in the background."""
        if self._background.busy:
            return
        try:
            self._background.wait()  # surfaces a failed write of the previous checkpoint
        except Exception:
            log.exception("checkpoint write failed; retrying after the next batch")
            self._since_checkpoint = max(self._since_checkpoint, self.checkpoint_every_events)
        due_by_count = self._since_checkpoint >= self.checkpoint_every_events
        due_by_time = time.monotonic() - self._checkpointed_at >= self.checkpoint_every_s
        if self._since_checkpoint and (due_by_count or due_by_time):
            # The bytes and last_seq are taken together between two batches: one snapshot.
            self._background.submit(
                self.checkpoint_name, self.model.to_bytes(), self.last_seq, self.model.events_learned
            )
            self._since_checkpoint = 0
            self._checkpointed_at = time.monotonic()

    @_waits_for_postgres
    def checkpoint(self) -> None:
        """Save the model with the sequence of the last event it learned, now (blocking)."""
        try:
            self._background.wait()  # an older snapshot must not land after this one
        except Exception:
            log.warning("an earlier background checkpoint failed; this one supersedes it")
        # Written through the checkpoint connection: the main one may be storing the next
        # batch on the processor process's prepare thread.
        self._background.submit(
            self.checkpoint_name, self.model.to_bytes(), self.last_seq, self.model.events_learned
        )
        self._background.wait()
        self._since_checkpoint = 0
        self._checkpointed_at = time.monotonic()

    def close(self) -> None:
        """Finish a checkpoint write in flight and close the connections this processor opened."""
        self._background.close()
        if self.item_sync is not None:
            self.item_sync.close()


def _check_model(model: OnlineRecommender) -> None:
    """Touch what the worker relies on, so an incompatible checkpoint fails here, at load."""
    if not isinstance(model.events_learned, int) or model.events_learned < 0:
        raise TypeError("events_learned is not a count")
    model.version  # noqa: B018 - raises on a model missing its state
    model.popular(1)
