"""Open endpoints for operators: liveness of every dependency, and Prometheus metrics."""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from api.deps import ContextDep, MetricsDep
from api.models import Health
from reelstream.serving.metrics import CONTENT_TYPE_LATEST

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "At least one dependency is down"}},
)
async def health(ctx: ContextDep) -> JSONResponse:
    """Kafka, Redis and PostgreSQL each ``up`` or ``down``; 200 only if all are up."""
    services = await anyio.to_thread.run_sync(ctx.health)
    ok = all(s == "up" for s in services.values())
    body = Health(status="ok" if ok else "degraded", services=services)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ok else 503)


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(metrics: MetricsDep) -> Response:
    """Prometheus text exposition (rendered on the event loop: reelstream.serving.metrics)."""
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
