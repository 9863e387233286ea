"""Per-user reads: recommendations from Redis (with fallbacks), ratings from PostgreSQL.

``GET /users/{user_id}/recommendations`` is the API's hot path. Declared here as an ordinary
FastAPI route (response model, validation, OpenAPI docs); plainly valid requests are answered
before they reach the router, by :class:`api.fast_lane.RecommendationsLane`, with the same body.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from api.deps import ContextDep, StoreDep
from api.bodies import Message, RatingPublic, Recommendations, UserRatings
from reelstream.schemas import MAX_ID
from reelstream.serving.context import N_MAX, USER_ID_MAX, recommendations_body
from reelstream.serving.recommendations import DEFAULT_N

router = APIRouter(prefix="/users", tags=["users"])

UserId = Annotated[int, Path(gt=0, lt=USER_ID_MAX)]


async def read_recommendations(
    user_id: UserId,
    ctx: ContextDep,
    n: Annotated[int, Query(ge=1, le=N_MAX)] = DEFAULT_N,
) -> Response:
    """Top-``n`` for the user: ``source=personal`` from the cache, else ``popular``."""
    body = await recommendations_body(ctx, user_id, n)
    return Response(body, media_type="application/json")


router.add_api_route(
    "/{user_id}/recommendations",
    read_recommendations,
    methods=["GET"],
    response_model=Recommendations,
    responses={503: {"model": Message, "description": "Redis and PostgreSQL both unreachable"}},
)


@router.get(
    "/{user_id}/ratings",
    response_model=UserRatings,
    responses={503: {"model": Message, "description": "PostgreSQL unreachable"}},
)
def read_user_ratings(
    user_id: UserId,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,  # PostgreSQL's OFFSET is an int8
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
