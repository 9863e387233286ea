"""Per-user reads: recommendations from Redis (with fallbacks), ratings from PostgreSQL."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import MetricsDep, ReaderDep, StoreDep
from api.models import Message, RatingPublic, Recommendations, UserRatings

router = APIRouter(prefix="/users", tags=["users"])

UserId = Annotated[int, Path(gt=0, lt=2**31)]


@router.get(
    "/{user_id}/recommendations",
    response_model=Recommendations,
    responses={503: {"model": Message, "description": "Redis and PostgreSQL both unreachable"}},
)
def read_recommendations(
    user_id: UserId,
    reader: ReaderDep,
    metrics: MetricsDep,
    n: Annotated[int, Query(ge=1, le=500)] = 10,
) -> Recommendations:
    """Top-``n`` for the user: ``source=personal`` from the cache, else ``popular``."""
    served = reader.for_user(user_id, n)
    metrics.recommendations_served.labels(served.source, served.origin).inc()
    return Recommendations.model_validate(served)


@router.get(
    "/{user_id}/ratings",
    response_model=UserRatings,
    responses={503: {"model": Message, "description": "PostgreSQL unreachable"}},
)
def read_user_ratings(
    user_id: UserId,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> UserRatings:
    """The user's ratings, newest first, paginated."""
    rows = store.user_ratings(user_id, limit=limit, offset=offset)
    return UserRatings(
        user_id=user_id,
        count=store.count_user_ratings(user_id),
        limit=limit,
        offset=offset,
        data=[RatingPublic.model_validate(r) for r in rows],
    )
