"""Per-user reads: recommendations from Redis (with fallbacks), ratings from PostgreSQL.

``GET /users/{user_id}/recommendations`` is the API's hot path. It is an ordinary FastAPI
route (response model, validation, OpenAPI docs), served by :class:`RecommendationsRoute`:
a request whose parameters are plainly valid (``user_id`` a decimal in range, no query string
or only ``n=<decimal in range>``) skips FastAPI's per-request dependency/parameter solving,
which cost several times the Redis read itself. Everything else (bad or unusual input, other
methods) goes through FastAPI unchanged, so validation errors, 405s and the response body are
the same either way (tests compare both paths).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from fastapi.routing import APIRoute

from api.deps import ContextDep, StoreDep
from api.models import Message, RatingPublic, Recommendations, UserRatings
from reelstream.serving import ServingContext

router = APIRouter(prefix="/users", tags=["users"])

USER_ID_MAX = 2**31  # exclusive
N_MAX = 500
N_DEFAULT = 10

UserId = Annotated[int, Path(gt=0, lt=USER_ID_MAX)]

_JSON_HEADERS = (b"content-type", b"application/json")


async def recommendations_body(ctx: ServingContext, user_id: int, n: int) -> bytes:
    """The JSON body of a recommendations response (both paths of the route use this)."""
    served = await ctx.reader.for_user(user_id, n)
    ctx.metrics.served(served.source, served.origin).inc()
    # ServedRecommendations has exactly the fields of the Recommendations response model (the
    # tests validate responses against it): no pydantic model is built for cached data.
    return served.to_json()


def _decimal(text: str | bytes, low: int, high: int) -> int | None:
    """``text`` as an int in ``[low, high)`` if it is a plain ASCII decimal, else None."""
    if not text or len(text) > 10 or not text.isdigit() or not text.isascii():
        return None
    value = int(text)
    return value if low <= value < high else None


def fast_path_args(scope: dict[str, Any]) -> tuple[int, int] | None:
    """``(user_id, n)`` when the request needs no FastAPI validation at all, else None."""
    if scope["method"] != "GET":
        return None
    user_id = _decimal(scope["path_params"].get("user_id", ""), 1, USER_ID_MAX)
    if user_id is None:
        return None
    query: bytes = scope["query_string"]
    if not query:
        return user_id, N_DEFAULT
    if query[:2] != b"n=":
        return None
    n = _decimal(query[2:], 1, N_MAX + 1)
    return None if n is None else (user_id, n)


class RecommendationsRoute(APIRoute):
    """An :class:`APIRoute` with a fast path for plainly valid requests (module docstring).

    Exceptions raised here (``RecommendationsUnavailable``) reach the app's exception
    handlers exactly as the endpoint's would; the latency middleware times both paths.
    """

    async def handle(self, scope: Any, receive: Any, send: Any) -> None:
        args = fast_path_args(scope)
        if args is None:
            await super().handle(scope, receive, send)
            return
        body = await recommendations_body(scope["app"].state.context, *args)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(body)).encode()), _JSON_HEADERS],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def read_recommendations(
    user_id: UserId,
    ctx: ContextDep,
    n: Annotated[int, Query(ge=1, le=N_MAX)] = N_DEFAULT,
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
    route_class_override=RecommendationsRoute,
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
