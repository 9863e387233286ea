"""Request and response models of the HTTP API (the rating event itself is
:class:`reelstream.schemas.RatingEvent`, shared with producers and the worker)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from reelstream.schemas import RatingEvent
from reelstream.serving.context import ServiceStatus


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- ratings -------------------------------------------------------------------------------
class RatingBatch(BaseModel):
    """Several rating events; at most ``max_batch_size`` (setting) per request."""

    model_config = ConfigDict(extra="forbid")

    events: list[RatingEvent] = Field(min_length=1)


class RatingAccepted(_Out):
    event_id: UUID = Field(description="Acknowledged by the broker (acks=all).")


class RatingsAccepted(_Out):
    event_ids: list[UUID]
    accepted: int


class PublishFailure(BaseModel):
    reason: str
    accepted_event_ids: list[UUID] = Field(
        default_factory=list, description="Events the broker did acknowledge before failing."
    )
    unconfirmed_event_ids: list[UUID] = Field(
        default_factory=list,
        description="Not acknowledged: retry them with the same event_id (duplicates are no-ops).",
    )


class PublishFailed(BaseModel):
    detail: PublishFailure


class Message(BaseModel):
    detail: str


# --- recommendations -----------------------------------------------------------------------
class Contribution(_Out):
    movie_id: int = Field(description="A movie the user rated.")
    share: float = Field(description="Its share of the positive parts of the item's score.")


class RecommendedMovie(_Out):
    movie_id: int
    title: str | None = Field(description="None if the movie is not in the catalogue.")
    genres: list[str]
    score: float
    because: list[Contribution] = Field(
        default_factory=list,
        description="The user's rated movies the model's score owes most to, largest first "
        "(empty for popular lists and for scores without an item-item part).",
    )


class Recommendations(_Out):
    user_id: int | None = None
    source: Literal["personal", "popular"] = Field(
        description="personal: the user's own list from the cache; popular: fallback."
    )
    origin: Literal["redis", "postgres", "none"] = Field(
        "redis", description="Where the list was read: Redis, PostgreSQL counts, or nowhere."
    )
    reason: str | None = Field(None, description="Why a fallback was served.")
    model_version: str | None = None
    updated_at: datetime | None = Field(None, description="When this list was computed.")
    stale: bool = Field(
        False,
        description="The list was computed longer ago than REELSTREAM_STALE_AFTER_S (a user "
        "who has not rated since; the model may have been retrained since).",
    )
    last_event_id: str | None = Field(None, description="Newest rating event it includes.")
    last_event_at: datetime | None = None
    items: list[RecommendedMovie]


class SimilarMovies(_Out):
    movie_id: int
    items: list[RecommendedMovie]


# --- movies / users ------------------------------------------------------------------------
class MoviePublic(_Out):
    movie_id: int
    title: str
    genres: list[str]
    year: int | None = None


class RatingPublic(_Out):
    event_id: UUID
    movie_id: int
    rating: float
    rated_at: datetime
    ingested_at: datetime


class UserRatings(BaseModel):
    user_id: int
    count: int = Field(description="All ratings of the user.")
    limit: int
    offset: int
    data: list[RatingPublic]


# --- health --------------------------------------------------------------------------------
class WorkerHealth(BaseModel):
    worker_id: str
    state: Literal["ok", "degraded", "starting", "stale"] = Field(
        description="What the worker last reported; stale: its heartbeat is older than the "
        "threshold (REELSTREAM_HEALTH_HEARTBEAT_MAX_AGE_S)."
    )
    heartbeat_age_s: float = Field(description="Seconds since the worker's last heartbeat.")
    lag: dict[int, int] = Field(description="Messages not yet processed, per partition.")
    total_lag: int
    newest_learned_event_age_s: float | None = Field(
        description="Seconds since the rating time of the newest event the model learned."
    )
    model_version: str
    reason: str | None = Field(None, description="Why the worker is not ok, in its words.")
    drift: str | None = Field(
        None, description="A recent shift of the serving model's live error (ADWIN)."
    )


class Health(BaseModel):
    status: Literal["ok", "degraded"] = Field(
        description="ok: every dependency up and the stream alive (a fresh worker heartbeat, "
        "no worker degraded, lag within REELSTREAM_HEALTH_MAX_LAG); degraded: see reasons."
    )
    reasons: list[str] = Field(default_factory=list, description="Why the status is degraded.")
    services: dict[Literal["kafka", "redis", "postgres"], ServiceStatus]
    workers: list[WorkerHealth] = Field(
        default_factory=list, description="Every worker heard from in the last day."
    )
    total_lag: int = Field(0, description="Consumer lag summed over the fresh workers.")


# --- browsing ------------------------------------------------------------------------------
class MovieSearch(BaseModel):
    total: int = Field(description="All matches; `data` is one page of them.")
    limit: int
    offset: int
    data: list[MoviePublic]


class MovieStats(_Out):
    movie_id: int
    ratings_count: int
    average_rating: float | None
    last_rated_at: datetime | None


class PopularMovie(_Out):
    movie_id: int
    title: str | None
    genres: list[str]
    ratings_count: int


class AllTimePopular(BaseModel):
    items: list[PopularMovie]


# --- stream --------------------------------------------------------------------------------
class WorkerStats(BaseModel):
    worker_id: str
    state: str
    reason: str | None
    stalled: bool = Field(description="No heartbeat for more than `stale_after_s`.")
    heartbeat_at: datetime
    heartbeat_age_s: float
    model_version: str
    lag: dict[str, int] = Field(description="Partition -> messages not yet processed.")
    total_lag: int
    newest_learned_event_at: datetime | None
    newest_learned_age_s: float | None
    events_stored: int
    events_learned: int
    duplicates: int
    dead_letters: int
    drift: str | None = Field(None, description="A recent shift of the model's live error.")


class DeadLetterPublic(BaseModel):
    at: datetime
    error: str
    stage: str
    topic: str
    partition: int | None
    offset: int | None
    preview: str


class LatencyHistogram(BaseModel):
    bounds_s: list[float]
    counts: list[int] = Field(description="Per bucket since start; the last is +Inf.")
    count: int
    p50_ms: float | None
    p95_ms: float | None


class ApiStats(BaseModel):
    events_accepted: int
    events_rejected: dict[str, int]
    latency: dict[str, LatencyHistogram]


class StreamStats(BaseModel):
    generated_at: datetime
    stale_after_s: float
    workers: list[WorkerStats]
    recent_dead_letters: list[DeadLetterPublic]
    api: ApiStats


# --- models --------------------------------------------------------------------------------
class ModelVersion(BaseModel):
    version: str
    aliases: list[str]
    created_at: datetime
    data_interval_end: str | None
    data_start: str | None
    data_end: str | None
    n_ratings: float | None
    run_id: str | None
    metrics: dict[str, float | None]


class ModelRegistry(BaseModel):
    name: str
    champion: str | None
    versions: list[ModelVersion]


class ChampionChanged(BaseModel):
    champion: str
    workers_notified: int | None = Field(description="Workers that heard it now (None: Redis down).")


class VersionRecommendations(BaseModel):
    version: str
    user_id: int
    known_user: bool = Field(description="False: the version never saw this user (popular).")
    items: list[RecommendedMovie]
