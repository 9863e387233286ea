"""What the stream is doing now: worker heartbeats, lag, dead letters, the API's counters."""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Response
from redis import RedisError

from api.deps import ContextDep, MetricsDep
from api.bodies import Message, StreamStats
from reelstream.serving.incidents import log_dependency_failure
from reelstream.serving.stream_stats import stream_stats

router = APIRouter(prefix="/stream", tags=["stream"])


@router.get(
    "/stats",
    response_model=StreamStats,
    responses={503: {"model": Message, "description": "Redis unreachable"}},
)
async def read_stream_stats(ctx: ContextDep, metrics: MetricsDep) -> Response:
    """One snapshot: every worker's heartbeat (``stalled`` when older than ``stale_after_s``),
    per-partition lag, counters, the newest dead letters, and the API's cumulative event
    counters and latency histograms (rates come from the difference of two snapshots)."""
    try:
        stats = await anyio.to_thread.run_sync(
            stream_stats,
            ctx.cache.client,
            ctx.settings.redis_prefix,
            metrics,
            ctx.settings.health_heartbeat_max_age_s,
        )
    except RedisError as exc:
        log_dependency_failure("Redis unreachable", exc)
        raise HTTPException(status_code=503, detail="Redis unreachable") from exc
    return Response(StreamStats.model_validate(stats).model_dump_json(), media_type="application/json")
