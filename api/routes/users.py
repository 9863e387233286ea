"""Per-user reads: recommendations from Redis (with fallbacks), ratings from PostgreSQL."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from api.deps import ContextDep, StoreDep
from api.models import Message, RatingPublic, Recommendations, UserRatings, dataclass_response

router = APIRouter(prefix="/users", tags=["users"])

UserId = Annotated[int, Path(gt=0, lt=2**31)]


@router.get(
    "/{user_id}/recommendations",
    response_model=Recommendations,
    responses={503: {"model": Message, "description": "Redis and PostgreSQL both unreachable"}},
)
async def read_recommendations(  # hot path: see api.models.dataclass_response
    user_id: UserId,
    ctx: ContextDep,  # one dependency: each one resolved costs ~0.1 ms on this path
    n: Annotated[int, Query(ge=1, le=500)] = 10,
) -> Response:
    """Top-``n`` for the user: ``source=personal`` from the cache, else ``popular``."""
    served = await ctx.reader.for_user(user_id, n)
    ctx.metrics.recommendations_served.labels(served.source, served.origin).inc()
    return dataclass_response(served)


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
