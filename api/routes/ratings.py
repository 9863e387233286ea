"""Rating events in: validated, published to Kafka, 202 once the broker acknowledged."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.exceptions import RequestValidationError

from api.deps import ApiKeyDep, MetricsDep, PublisherDep, SettingsDep
from api.models import Message, PublishFailed, RatingAccepted, RatingBatch, RatingsAccepted
from reelstream.schemas import RatingEvent

router = APIRouter(prefix="/ratings", tags=["ratings"], dependencies=[ApiKeyDep])

_ERRORS = {
    401: {"model": Message, "description": "Missing or wrong X-API-Key"},
    503: {"model": PublishFailed, "description": "Broker unreachable / did not acknowledge"},
}


@router.post(
    "", status_code=status.HTTP_202_ACCEPTED, response_model=RatingAccepted, responses=_ERRORS
)
async def post_rating(
    event: RatingEvent, publisher: PublisherDep, metrics: MetricsDep
) -> RatingAccepted:
    """Publish one rating event (``event_id`` generated when absent), keyed by user id."""
    accepted = await publisher.publish([event])
    metrics.events_accepted.inc(len(accepted))
    return RatingAccepted(event_id=accepted[0])


@router.post(
    "/batch",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RatingsAccepted,
    responses=_ERRORS,
)
async def post_ratings(
    batch: RatingBatch, publisher: PublisherDep, metrics: MetricsDep, settings: SettingsDep
) -> RatingsAccepted:
    """Publish up to ``max_batch_size`` events; 202 only when the broker acknowledged all."""
    if len(batch.events) > settings.max_batch_size:
        raise RequestValidationError(
            body={"events": [None] * len(batch.events)},  # counted as rejected events
            errors=[
                {
                    "type": "too_long",
                    "loc": ("body", "events"),
                    "msg": f"at most {settings.max_batch_size} events per batch",
                    "input": len(batch.events),
                    "ctx": {"max_length": settings.max_batch_size},
                }
            ]
        )
    accepted = await publisher.publish(batch.events)
    metrics.events_accepted.inc(len(accepted))
    return RatingsAccepted(event_ids=accepted, accepted=len(accepted))
