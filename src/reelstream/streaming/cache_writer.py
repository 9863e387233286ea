"""What the worker writes to Redis after learning a batch: each affected user's top-N (with
its default page), the popular list, and the similar-movie lists of just-rated movies.

Held by :class:`~reelstream.streaming.processor.BatchProcessor`, which passes the model it
currently serves to each write (a promotion swaps it). Under a backlog, lists wait here
(:meth:`CacheWriter.stage`) and go out together (:meth:`CacheWriter.write_lists`). Redis being
away is waited out; a failure for one user or one movie skips that list (logged) instead of
failing the batch.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from reelstream.cache import Recommendation, UserRecommendations
from reelstream.schemas import RatingEvent
from reelstream.streaming.metrics import LISTS_WAITING, LISTS_WRITTEN, TOPN_SECONDS
from reelstream.streaming.resilience import waits_out

from reelstream.streaming.similar import SimilarSchedule

if TYPE_CHECKING:
    from reelstream.cache import RecommendationCache
    from reelstream.models.online import OnlineRecommender
    from reelstream.recommendation_format import PageRenderer
    from reelstream.streaming.prepared_batch import ProcessorConfig

__all__ = ["CacheWriter"]

log = logging.getLogger(__name__)


class CacheWriter:
    """Writes lists, pages, the popular list and similar lists to the recommendation cache."""

    def __init__(
        self, cache: RecommendationCache, pages: PageRenderer, config: ProcessorConfig
    ) -> None:
        self.cache = cache
        self.pages = pages
        self.config = config
        self.similar = SimilarSchedule(
            config.similar_per_batch, config.similar_per_s, config.similar_every_s
        )
        self._waiting: dict[int, RatingEvent] | None = None  # users whose list is not written yet
        self._waiting_since = 0.0
        # Every waiting list's event was stored after this sequence number (None: unknown)
        self.owed_after: int | None = None
        self.unread = 0  # events the worker's consumer has yet to read (its last report)
        self.live = None  # a reelstream.streaming.live_eval.LiveEvaluation judging the lists

    @property
    def catching_up(self) -> bool:
        """Whether the worker's consumer reported a backlog of a replay's or catch-up's size."""
        return self.unread >= self.config.list_catchup_unread

    @property
    def max_delay_s(self) -> float:
        """How long lists may wait under a backlog: longer while the worker catches up."""
        config = self.config
        if self.catching_up:
            return max(config.list_catchup_delay_s, config.list_max_delay_s)
        return config.list_max_delay_s

    @property
    def lists_waiting(self) -> int:
        return len(self._waiting or ())

    def stage(self, last_event: dict[int, RatingEvent], after_seq: int | None = None) -> None:
        """Remember these users' lists are due, with the newest event each must include
        (events stored after sequence number ``after_seq``; None: not known)."""
        if not last_event:
            return
        if not self._waiting:
            self._waiting, self._waiting_since = {}, time.monotonic()
            self.owed_after = after_seq
        elif after_seq is None or self.owed_after is None:
            self.owed_after = None
        else:
            self.owed_after = min(self.owed_after, after_seq)
        self._waiting.update(last_event)  # batches come in order: a later event wins
        LISTS_WAITING.set(len(self._waiting))

    def write_lists(self, model: OnlineRecommender, *, due_only: bool = False) -> int:
        """Write the waiting users' lists from ``model``; with ``due_only``, only once the
        oldest has waited ``list_max_delay_s`` (``list_catchup_delay_s`` while catching up).
        Returns how many users' lists were written."""
        waiting = self._waiting
        if not waiting:
            return 0
        if due_only and time.monotonic() - self._waiting_since < self.max_delay_s:
            return 0
        self._refresh(model, waiting)  # Redis away: waited out; the lists stay waiting until then
        self._waiting, self.owed_after = None, None
        LISTS_WAITING.set(0)
        LISTS_WRITTEN.inc(len(waiting))
        return len(waiting)

    @waits_out("Redis")
    def lost_in_cache(self, latest: dict[int, RatingEvent]) -> dict[int, RatingEvent]:
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

    @waits_out("Redis")
    def _refresh(self, model: OnlineRecommender, last_event: dict[int, RatingEvent]) -> None:
        now = datetime.now(UTC)
        version = model.version
        t0 = time.perf_counter()
        try:
            lists = model.recommend_explained(last_event, self.config.top_n)  # each user once
        except Exception:  # noqa: BLE001 - narrowed: one user's list must not stop the others'
            lists = self._recommend_one_by_one(model, last_event)
        if lists:
            TOPN_SECONDS.observe((time.perf_counter() - t0) / len(lists))  # per list
        batch = []
        for user_id, event in last_event.items():
            if user_id not in lists:
                continue
            personal = model.source(user_id) == "model"
            batch.append(
                UserRecommendations(
                    user_id=user_id,
                    items=[Recommendation(m, s, tuple(why) if personal else ())
                           for m, s, why in lists[user_id]],
                    model_version=version,
                    updated_at=now,
                    last_event_id=event.event_id,
                    last_event_at=event.timestamp,
                    source="personal" if personal else "popular",
                )
            )
        self.cache.put_user_recommendations(batch, self._render_page)
        popular_items = model.popular(self.config.popular_n)
        popular = [Recommendation(movie_id=m, score=s) for m, s in popular_items]
        self.cache.put_popular(popular, version)
        if self.live is not None:  # what each user is now served is what the next event judges
            try:
                served = {u: [(m, s) for m, s, _ in items] for u, items in lists.items()}
                self.live.lists_written(served, popular_items)
            except Exception:  # noqa: BLE001 - judging the lists must not stop writing them
                log.exception("live evaluation of the lists failed")

    def _recommend_one_by_one(
        self, model: OnlineRecommender, last_event: dict[int, RatingEvent]
    ) -> dict[int, list[tuple[int, float, tuple]]]:
        """Each user on their own: a failed list skips that user, a failed explanation
        leaves that list without reasons."""
        lists = {}
        for user_id in last_event:
            try:
                items = model.recommend(user_id, self.config.top_n)
            except Exception:  # noqa: BLE001
                log.exception("top-N of user %s failed; their list is not refreshed", user_id)
                continue
            try:
                reasons = model.explain(user_id, [m for m, _ in items])
            except Exception:  # noqa: BLE001 - a reason is a nicety, the list is what counts
                log.exception("explaining the list of user %s failed; written without reasons",
                              user_id)
                reasons = [() for _ in items]
            lists[user_id] = [(m, s, r) for (m, s), r in zip(items, reasons, strict=True)]
        return lists

    def _render_page(self, rec: UserRecommendations) -> bytes | None:
        """The default page, or None (the API renders it) if rendering fails."""
        try:
            return self.pages.render(rec)
        except Exception:  # noqa: BLE001 - a page is an optimisation, the list is what counts
            log.exception("rendering a default page failed; the list is written without it")
            return None

    @waits_out("Redis")
    def refresh_similar(self, model: OnlineRecommender, movie_ids: list[int]) -> None:
        """Write the similar lists of the most recently rated movies the schedule lets through."""
        due = self.similar.due(movie_ids)
        if not due:
            return
        try:
            found = model.similar_many(due, 20)  # the catalogue's norms once for all
        except Exception:  # noqa: BLE001 - narrowed: one movie's list must not stop the batch
            found = self._similar_one_by_one(model, due)
        similar = {
            movie_id: [Recommendation(movie_id=m, score=s) for m, s in found.get(movie_id, [])]
            for movie_id in due
        }
        self.cache.put_similar(similar)

    def _similar_one_by_one(
        self, model: OnlineRecommender, movie_ids: list[int]
    ) -> dict[int, list[tuple[int, float]]]:
        found = {}
        for movie_id in movie_ids:
            try:
                found[movie_id] = model.similar(movie_id, 20)
            except Exception:  # noqa: BLE001
                log.exception("similar movies of %s failed", movie_id)
        return found
