"""Open endpoints for operators: health of the API and of the stream, and Prometheus metrics.

``/health`` answers whether *this API* can serve: 503 only when Kafka, Redis or PostgreSQL is
down (a load balancer should then send traffic elsewhere). A stalled stream is reported in
the same body (``status: degraded`` with the reasons, 200): taking the API out of rotation
would not restart a worker, and ratings are still accepted into Kafka meanwhile.
``/health/pipeline`` is the same body with 503 whenever it is degraded, for monitors that
only look at the status code. Both reuse one probe for ``REELSTREAM_HEALTH_CACHE_S``.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from api.deps import ContextDep, MetricsDep
from api.bodies import Health
from reelstream.health import HealthVerdict
from reelstream.serving.metrics import CONTENT_TYPE_LATEST

router = APIRouter(tags=["health"])


def _body(verdict: HealthVerdict) -> dict[str, object]:
    return Health(
        status=verdict.status,
        reasons=verdict.reasons,
        services=verdict.services,  # type: ignore[arg-type]
        workers=[asdict(w) for w in verdict.workers],  # type: ignore[misc]
        total_lag=verdict.total_lag,
    ).model_dump(mode="json")


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "Kafka, Redis or PostgreSQL is down"}},
)
async def health(ctx: ContextDep) -> JSONResponse:
    """Dependencies up/down and the stream's liveness; 503 only if a dependency is down."""
    verdict = await ctx.health_monitor.verdict()
    return JSONResponse(_body(verdict), status_code=200 if verdict.services_up else 503)


@router.get(
    "/health/pipeline",
    response_model=Health,
    responses={503: {"model": Health, "description": "Degraded: see reasons"}},
)
async def pipeline_health(ctx: ContextDep) -> JSONResponse:
    """The same report, 200 only when the whole pipeline is ok (for status-code monitors)."""
    verdict = await ctx.health_monitor.verdict()
    return JSONResponse(_body(verdict), status_code=200 if verdict.status == "ok" else 503)


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(metrics: MetricsDep) -> Response:
    """Prometheus text exposition (rendered on the event loop: reelstream.serving.metrics)."""
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
