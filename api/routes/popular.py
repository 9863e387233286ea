"""The popular list everyone without a personal list gets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import MetricsDep, ReaderDep
from api.models import Message, Recommendations

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
