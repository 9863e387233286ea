"""The popular list everyone without a personal list gets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import CatalogDep, MetricsDep, ReaderDep, StoreDep
from api.bodies import AllTimePopular, Message, PopularMovie, Recommendations
from reelstream.serving.browse import all_time_popular

router = APIRouter(prefix="/popular", tags=["recommendations"])


@router.get(
    "",
    response_model=Recommendations,
    responses={503: {"model": Message, "description": "Redis and PostgreSQL both unreachable"}},
)
async def read_popular(
    reader: ReaderDep, metrics: MetricsDep, n: Annotated[int, Query(ge=1, le=500)] = 10
) -> Response:
    served = await reader.popular(n)
    metrics.count_served(served.source, served.origin)
    return Response(served.to_json(), media_type="application/json")


@router.get(
    "/all-time",
    response_model=AllTimePopular,
    responses={503: {"model": Message, "description": "PostgreSQL unreachable"}},
)
def read_all_time_popular(
    store: StoreDep, catalog: CatalogDep, n: Annotated[int, Query(ge=1, le=100)] = 10
) -> AllTimePopular:
    """Most-rated movies of every stored event (``/popular`` is the recent stream's trend)."""
    counts = all_time_popular(store, n)
    info = catalog.lookup([m for m, _ in counts])
    return AllTimePopular(
        items=[
            PopularMovie(movie_id=m, title=info[m].title, genres=info[m].genres, ratings_count=c)
            for m, c in counts
        ]
    )
