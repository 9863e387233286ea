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
from datetime import UTC, datetime

from pydantic import ValidationError
from tenacity import before_sleep_log, retry, retry_if_exception_type, wait_exponential

from reelstream.cache import Recommendation, RecommendationCache, UserRecommendations
from reelstream.models.online import OnlineRecommender
from reelstream.schemas import RatingEvent
from reelstream.serving.catalog import MovieCatalog
from reelstream.serving.pages import PageRenderer
from reelstream.store import EventStore
from reelstream.streaming.checkpoints import BackgroundCheckpoints
from reelstream.streaming.messages import BatchOutcome, DeadLetter, RawMessage
from reelstream.streaming.metrics import (
    BATCH_SECONDS,
    DEAD_LETTERS,
    EVENTS,
    MODEL_EVENTS,
    TOPN_SECONDS,
)

__all__ = ["BatchProcessor", "BatchOutcome", "PreparedBatch"]

log = logging.getLogger(__name__)

#: PostgreSQL/Redis being briefly away must not drop a batch: retry until they are back.
_retry_io = retry(
    retry=retry_if_exception_type((OSError, ConnectionError, TimeoutError)),
    wait=wait_exponential(multiplier=0.2, max=10),
    before_sleep=before_sleep_log(log, logging.WARNING),
    reraise=True,
)


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


def _reason(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'message'}: {e['msg']}" for e in exc.errors()
    )


class BatchProcessor:
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
        item_sync=None,  # noqa: ANN001 - a reelstream.streaming.item_sync.KafkaItemSync
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
        """Restore the last checkpoint and learn what was stored after it; return that count."""
        checkpoint = self.store.load_checkpoint(self.checkpoint_name)
        if checkpoint is not None:
            self.model = OnlineRecommender.from_bytes(checkpoint.model)
            self.last_seq = int(checkpoint.offsets.get("seq", 0))
        caught_up = 0
        while True:
            rows = self.store.ratings_after(self.last_seq, ingested_by=self.checkpoint_name)
            if not rows:
                break
            for row in rows:
                self._learn(row.event)
                self.last_seq = row.seq
            caught_up += len(rows)
        if caught_up:
            self.checkpoint()
        self._prefetch_movies(set(self.model.index.ids.tolist()))
        MODEL_EVENTS.set(self.model.events_learned)
        return caught_up

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
                event = RatingEvent.from_bytes(message.value or b"")
            except ValidationError as exc:
                dead_letters.append(DeadLetter(message, _reason(exc), "validate"))
                continue
            events.setdefault(event.event_id, (event, message))
        histories = self._read_histories({event.user_id for event, _ in events.values()})
        self._prefetch_movies({event.movie_id for event, _ in events.values()})
        stored = self._store([event for event, _ in events.values()]) if events else []
        only_duplicates = {e.user_id for e, _ in events.values()} - {e.user_id for e, _ in stored}
        latest = self._latest_events(only_duplicates) if only_duplicates else {}
        return PreparedBatch(
            len(messages), events, dead_letters, histories, stored, latest, started
        )

    def apply(self, batch: PreparedBatch) -> BatchOutcome:
        """Learn the newly stored events in order, then refresh Redis; maybe checkpoint."""
        self._apply_histories(batch.histories)
        events, stored = batch.events, batch.stored
        outcome = BatchOutcome(dead_letters=list(batch.dead_letters))
        outcome.stored = len(stored)
        outcome.duplicates = batch.size - len(outcome.dead_letters) - len(stored)

        failed: set[object] = set()
        for event, seq in stored:
            try:
                self._learn(event)
            except Exception as exc:  # a bad event must not stop the stream: dead-letter it
                log.exception("learning event %s failed", event.event_id)
                outcome.dead_letters.append(DeadLetter(events[event.event_id][1], repr(exc), "process"))
                failed.add(event.event_id)
                continue
            self.last_seq = max(self.last_seq, seq)

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

        EVENTS.labels("stored").inc(outcome.stored)
        EVENTS.labels("duplicate").inc(outcome.duplicates)
        for letter in outcome.dead_letters:
            DEAD_LETTERS.labels(letter.stage).inc()
        MODEL_EVENTS.set(self.model.events_learned)
        BATCH_SECONDS.observe(time.perf_counter() - batch.started)
        return outcome

    @_retry_io
    def _store(self, events: list[RatingEvent]) -> list[tuple[RatingEvent, int]]:
        """Insert, returning the newly stored events (in batch order) with their sequence."""
        new = self.store.insert_ratings(events, ingested_by=self.checkpoint_name)
        return [(event, new[event.event_id]) for event in events if event.event_id in new]

    def _learn(self, event: RatingEvent) -> None:
        self.model.learn_one(
            event.user_id, event.movie_id, event.rating, event.timestamp.timestamp()
        )

    @_retry_io
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

    @_retry_io
    def _latest_events(self, user_ids: set[int]) -> dict[int, RatingEvent]:
        return self.store.latest_events(user_ids)

    @_retry_io
    def _lost_in_cache(self, latest: dict[int, RatingEvent]) -> dict[int, RatingEvent]:
        """Users whose cached list does not include their latest stored event.

        A worker that died after storing a batch but before writing Redis (or, in the
        processor process, after storing the next batch but before learning it) leaves those
        users' lists behind; the redelivery, all duplicates, repairs them. "Latest" is by
        ingest sequence, so two events with the same timestamp are told apart, and a list
        already newer than it (another worker's) is never rolled back.
        """
        lost = {}
        for user_id, event in latest.items():
            cached = self.cache.get_user_recommendations(user_id)
            if cached is None or cached.last_event_at is None or (
                cached.last_event_id != event.event_id and cached.last_event_at <= event.timestamp
            ):
                lost[user_id] = event
        return lost

    @_retry_io
    def _refresh(self, last_event: dict[int, RatingEvent]) -> None:
        now = datetime.now(UTC)
        version = self.model.version
        batch = []
        t0 = time.perf_counter()
        lists = self.model.recommend_many(last_event, self.top_n)  # each user once, one call
        TOPN_SECONDS.observe((time.perf_counter() - t0) / len(lists))  # per list
        for user_id, event in last_event.items():
            items = lists[user_id]
            personal = self.model.source(user_id) == "model"
            batch.append(
                UserRecommendations(
                    user_id=user_id,
                    items=[Recommendation(movie_id=m, score=s) for m, s in items],
                    model_version=version,
                    updated_at=now,
                    last_event_id=event.event_id,
                    last_event_at=event.timestamp,
                    source="personal" if personal else "popular",
                )
            )
        self.cache.put_user_recommendations(batch, self.pages.render)
        popular = [Recommendation(movie_id=m, score=s) for m, s in self.model.popular(self.popular_n)]
        self.cache.put_popular(popular, version)

    @_retry_io
    def _refresh_similar(self, movie_ids: list[int]) -> None:
        """Write the similar lists of the most recently rated movies not refreshed lately."""
        now = time.monotonic()
        self._similar_tokens = min(
            float(self.similar_per_batch),
            self._similar_tokens + (now - self._similar_tokens_at) * self.similar_per_s,
        )
        self._similar_tokens_at = now
        limit = int(self._similar_tokens)
        due: list[int] = []
        for movie_id in dict.fromkeys(movie_ids) if limit else ():  # newest first, once each
            if now - self._similar_at.get(movie_id, -1e18) >= self.similar_every_s:
                due.append(movie_id)
                if len(due) == limit:
                    break
        if not due:
            return
        self._similar_tokens -= len(due)
        lists = self.model.similar_many(due, 20)  # the catalogue's norms once for all
        self.cache.put_similar(
            {
                movie_id: [Recommendation(movie_id=m, score=s) for m, s in lists.get(movie_id, [])]
                for movie_id in due
            }
        )
        self._similar_at.update(dict.fromkeys(due, now))

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

    @_retry_io
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
