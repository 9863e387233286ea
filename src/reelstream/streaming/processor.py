"""One batch of rating messages: validate → store → learn → refresh top-N in Redis.

The order is what makes the worker at-least-once and duplicate-safe:

1. malformed messages become dead letters (returned to the caller, who sends them to the DLQ
   before the batch is acknowledged; :func:`~reelstream.streaming.decode.decode_batch`);
2. valid events are inserted into PostgreSQL with ``ON CONFLICT DO NOTHING``; only the
   event ids that were *newly* stored are learned, so a redelivered event is a no-op
   (:mod:`~reelstream.streaming.storing`);
3. the online model learns them in order, then every affected user's top-N is written to
   Redis in one pipeline, with the last event it includes
   (:mod:`~reelstream.streaming.cache_writer`); under a backlog (full batches), the lists
   of several batches are written together, at most ``list_max_delay_s`` late, and always
   before a checkpoint, so a restart re-learns the events of every list not yet written;
4. the caller acknowledges the batch only after :meth:`BatchProcessor.handle` returned.

The model and the PostgreSQL sequence number of the last event it learned are checkpointed
together (:mod:`~reelstream.streaming.checkpoints`), so a restarted worker restores the model
and learns, from PostgreSQL, exactly the events stored after that checkpoint
(:meth:`BatchProcessor.recover`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime

from reelstream.cache import RecommendationCache
from reelstream.catalog import MovieCatalog
from reelstream.models.online import OnlineRecommender
from reelstream.recommendation_format import PageRenderer
from reelstream.schemas import RatingEvent
from reelstream.store import EventStore
from reelstream.store.records import Checkpoint, SequencedRating
from reelstream.streaming.prepared_batch import PreparedBatch, ProcessorConfig
from reelstream.streaming.cache_writer import CacheWriter
from reelstream.streaming.checkpoints import Checkpointer, Snapshot
from reelstream.streaming.decode import decode_batch
from reelstream.streaming.histories import KnownUsers
from reelstream.streaming.messages import BatchOutcome, DeadLetter, RawMessage
from reelstream.streaming.metrics import BATCH_SECONDS, DEAD_LETTERS, EVENTS, MODEL_EVENTS
from reelstream.streaming.recovery import catch_up, lists_owed, load_checkpoint
from reelstream.streaming.resilience import describe, waits_out
from reelstream.streaming.storing import store_isolating

__all__ = ["BatchProcessor", "BatchOutcome", "PreparedBatch", "ProcessorConfig"]

log = logging.getLogger(__name__)

#: PostgreSQL being away must not drop a batch: wait until it is back (Redis: CacheWriter).
_waits_for_postgres = waits_out("PostgreSQL")


class BatchProcessor:
    """Applies batches of raw rating messages to the store, the model and the cache."""

    def __init__(
        self,
        *,
        store: EventStore,
        cache: RecommendationCache,
        model: OnlineRecommender,
        checkpoint_name: str,
        config: ProcessorConfig | None = None,
        item_sync=None,  # noqa: ANN001 - a reelstream.streaming.item_stream.ItemSync
        live=None,  # noqa: ANN001 - a reelstream.streaming.live_eval.LiveEvaluation
    ) -> None:
        self.store = store
        self.cache = cache
        self.model = model
        self.checkpoint_name = checkpoint_name
        self.item_sync = item_sync  # item state shared with the other workers, or None
        self.config = config = config or ProcessorConfig()
        self.checkpoints = Checkpointer(
            checkpoint_name,
            store.dsn,
            config.checkpoint_every_events,
            config.checkpoint_every_s,
            config.checkpoint_max_share,
        )
        self.known_users = KnownUsers()
        self.last_seq = 0
        self.recovered_users: dict[int, RatingEvent] = {}  # newest caught-up event per user
        self.items_position: str | None = None  # shared item state, as of the checkpoint
        self._applying: PreparedBatch | None = None  # the batch apply works on
        self.learning = 0  # how many of its stored events the learning loop has reached
        # What the heartbeat reports (read from another thread: plain attributes).
        self.totals = {"stored": 0, "duplicates": 0, "dead_letters": 0}
        self.newest_learned_at: datetime | None = None
        # Each list is written with its default page, rendered here for the API to serve as
        # is. Titles come from a catalogue filled in prepare (which already talks to
        # PostgreSQL), so apply never queries for them; a list naming a movie it lacks is
        # written without a page, and the API renders that one itself.
        self.pages = PageRenderer(MovieCatalog(store))
        self.lists = CacheWriter(cache, self.pages, config)  # Redis: lists, pages, similar
        self.live = live

    @property
    def live(self):  # noqa: ANN201 - a reelstream.streaming.live_eval.LiveEvaluation or None
        """Live evaluation of the new events (not of recovered ones), or None; it judges
        each event against the list the cache writer last wrote for its user."""
        return self.lists.live

    @live.setter
    def live(self, live) -> None:  # noqa: ANN001
        self.lists.live = live

    @property
    def lists_waiting(self) -> int:
        return self.lists.lists_waiting

    def write_lists(self, *, due_only: bool = False) -> int:
        """Write the lists waiting under a backlog (:meth:`CacheWriter.write_lists`)."""
        return self.lists.write_lists(self.model, due_only=due_only)

    # -- start-up ---------------------------------------------------------------------------
    def recover(self) -> int:
        """Restore the last checkpoint and learn what was stored after it; return that count
        (:mod:`~reelstream.streaming.recovery`)."""
        restored = load_checkpoint(self._load_checkpoint, self.checkpoint_name)
        offsets = {}
        if restored is not None:
            self.model, offsets = restored
            self.last_seq = int(offsets.get("seq", 0))
            self.items_position = offsets.get("items")
        owed = lists_owed(self._ratings_after, offsets)  # lists the checkpoint left waiting
        caught_up = catch_up(self._ratings_after, self.last_seq, self._learn_stored)
        if caught_up or owed:
            # Lists written late (under a backlog) may have been lost with the previous run.
            owed.update(self.recovered_users)
            self.lists.stage(self.lists.lost_in_cache(owed))
            self.recovered_users = {}
            self.checkpoint()
        self._prefetch_movies(set(self.model.index.ids.tolist()))
        MODEL_EVENTS.set(self.model.events_learned)
        return caught_up

    @_waits_for_postgres
    def _load_checkpoint(self, name: str) -> Checkpoint | None:
        return self.store.load_checkpoint(name)

    @_waits_for_postgres
    def _ratings_after(self, seq: int) -> list[SequencedRating]:
        return self.store.ratings_after(seq, ingested_by=self.checkpoint_name)

    def _learn_stored(self, row: SequencedRating) -> None:
        self._learn(row.event)
        self.recovered_users[row.event.user_id] = row.event
        self.last_seq = row.seq
        self._note_learned(row.event.timestamp)

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
        events, dead_letters = decode_batch(messages)
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

    def apply(self, batch: PreparedBatch, *, backlog: bool = False) -> BatchOutcome:
        """Learn the newly stored events in order, then refresh Redis; maybe checkpoint.

        With ``backlog`` (the worker is behind), the affected users' lists may be left for
        a later batch (:meth:`write_lists`)."""
        self._applying, self.learning = batch, 0
        self.known_users.apply(self.model, batch.histories)
        events, stored = batch.events, batch.stored
        outcome = BatchOutcome(dead_letters=list(batch.dead_letters))
        outcome.stored = len(stored)
        outcome.duplicates = batch.size - len(outcome.dead_letters) - len(stored)

        failed: set[object] = set()
        judged = [] if self.live is not None else None  # (user, movie, rating, ts, prediction)
        for event, seq in stored:
            self.learning += 1  # how far this batch got (_learn's failures are caught)
            try:
                ts = self._learn(event)
                if judged is not None:
                    judged.append(
                        (event.user_id, event.movie_id, event.rating, ts, self.model.last_prediction)
                    )
            except Exception as exc:  # a bad event must not stop the stream: dead-letter it
                log.exception("learning event %s failed", event.event_id)
                outcome.dead_letters.append(
                    DeadLetter(events[event.event_id][1], describe(exc), "process")
                )
                failed.add(event.event_id)
                continue
            self.last_seq = max(self.last_seq, seq)

        if judged:  # never fails an event (see LiveEvaluation.learned)
            self.live.learned(judged)
        if stored:
            self._note_learned(max(event.timestamp for event, _ in stored))
        if self.item_sync is not None and self.item_sync.due():
            self._exchange_items()
        new_ids = {event.event_id for event, _ in stored} - failed
        last_event = {
            event.user_id: event for event, _ in events.values() if event.event_id in new_ids
        }
        self.lists.stage(last_event, min((seq for _, seq in stored), default=1) - 1)
        self.lists.stage(self.lists.lost_in_cache(batch.latest))  # repairs: of unknown seq
        outcome.users_refreshed = self.write_lists(due_only=backlog)
        outcome.lists_owed = bool(self.lists_waiting)
        self.lists.refresh_similar(self.model, [event.movie_id for event, _ in reversed(stored)])
        self.checkpoints.learned(len(stored))
        self.checkpoints.maybe(self._periodic_snapshot)
        self._count(outcome, batch.started)
        return outcome

    def _count(self, outcome: BatchOutcome, started: float) -> None:
        self.totals["stored"] += outcome.stored
        self.totals["duplicates"] += outcome.duplicates
        self.totals["dead_letters"] += len(outcome.dead_letters)
        EVENTS.labels("stored").inc(outcome.stored)
        EVENTS.labels("duplicate").inc(outcome.duplicates)
        for letter in outcome.dead_letters:
            DEAD_LETTERS.labels(letter.stage).inc()
        MODEL_EVENTS.set(self.model.events_learned)
        BATCH_SECONDS.observe(time.perf_counter() - started)

    def unlearned(self, batch: PreparedBatch) -> list[PreparedBatch]:
        """After :meth:`apply` of ``batch`` raised: its stored events not learned yet, each as
        a batch of its own (stored already, so a retry through :meth:`prepare` would see
        duplicates and never learn them)."""
        rest = batch.stored[self.learning :] if self._applying is batch else batch.stored
        return [
            PreparedBatch.single(event, seq, batch.events[event.event_id][1], time.perf_counter())
            for event, seq in rest
        ]

    def _store_isolating(
        self, events: list[RatingEvent]
    ) -> tuple[list[tuple[RatingEvent, int]], list[tuple[RatingEvent, str]]]:
        return store_isolating(self._store, events)

    @_waits_for_postgres
    def _store(self, events: list[RatingEvent]) -> list[tuple[RatingEvent, int]]:
        """Insert, returning the newly stored events (in batch order) with their sequence."""
        new = self.store.insert_ratings(events, ingested_by=self.checkpoint_name)
        return [(event, new[event.event_id]) for event in events if event.event_id in new]

    def _learn(self, event: RatingEvent) -> float:
        """Learn one event; returns its time in unix seconds."""
        ts = event.timestamp.timestamp()
        self.model.learn_one(event.user_id, event.movie_id, event.rating, ts)
        return ts

    @_waits_for_postgres
    def _read_histories(self, user_ids: set[int]) -> dict[int, set[int]]:
        """Movies stored for the users this worker has not seen yet (:mod:`.histories`)."""
        return self.known_users.read_new(user_ids, self.store.rated_movie_ids)

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
    def _snapshot(self, *, lists_may_wait: bool = False) -> Snapshot:
        """Taken between two batches: the bytes and last_seq are one consistent snapshot.

        Lists still waiting are written first: the events a restart does not re-learn must
        all be in Redis. With ``lists_may_wait`` while the worker catches up, they keep
        waiting instead, and the offsets say after which event lists may be missing
        (``lists_owed_after``): a restart writes those users' lists (:meth:`recover`)."""
        owed = self.lists.owed_after if lists_may_wait and self.lists.catching_up else None
        if owed is None:
            self.write_lists()
        if self.item_sync is not None:
            self._exchange_items()  # what a restart re-learns is not shared again
        offsets: dict[str, int | str] = {"seq": self.last_seq}
        if owed is not None:  # set only while lists wait
            offsets["lists_owed_after"] = owed
        if self.item_sync is not None and self.item_sync.position is not None:
            offsets["items"] = self.item_sync.position  # what the model has merged
        return self.model.to_bytes(), offsets, self.model.events_learned

    def _periodic_snapshot(self) -> Snapshot:
        return self._snapshot(lists_may_wait=True)

    @_waits_for_postgres
    def checkpoint(self) -> None:
        """Save the model with the sequence of the last event it learned, now (blocking).

        Written through the checkpoint connection: the main one may be storing the next batch
        on the processor process's prepare thread."""
        self.checkpoints.now(self._snapshot)

    def close(self) -> None:
        """Finish a checkpoint write in flight and close the connections this processor opened."""
        self.checkpoints.close()
        if self.item_sync is not None:
            self.item_sync.close()
