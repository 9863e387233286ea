"""Rating events in: validated, published to Kafka, 202 once the broker acknowledged.

The API key and the body size are checked before the body is read (:mod:`api.edge`); the
number of events in a batch before any event is validated (:func:`batch_size_within_limit`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.exceptions import RequestValidationError

from api.deps import ApiKeyDep, MetricsDep, PublisherDep, SettingsDep
from api.bodies import Message, PublishFailed, RatingAccepted, RatingBatch, RatingsAccepted
from reelstream.schemas import RatingEvent

router = APIRouter(prefix="/ratings", tags=["ratings"], dependencies=[ApiKeyDep])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Message, "description": "Missing or wrong X-API-Key"},
    413: {"model": Message, "description": "Request body too large"},
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


async def batch_size_within_limit(request: Request, settings: SettingsDep) -> None:
    """422 ``too_long`` for more than ``max_batch_size`` events, before any is validated.

    FastAPI has parsed the JSON body before dependencies run (``Request.json`` keeps it), but
    validates it against the body model only after them; a body that is not a JSON object
    with an ``events`` list is left to that validation.
    """
    try:
        body = await request.json()
    except Exception:  # not JSON: the body validation reports it
        return
    events = body.get("events") if isinstance(body, dict) else None
    if isinstance(events, list) and len(events) > settings.max_batch_size:
        raise RequestValidationError(
            body={"events": [None] * len(events)},  # counted as rejected events
            errors=[
                {
                    "type": "too_long",
                    "loc": ("body", "events"),
                    "msg": f"at most {settings.max_batch_size} events per batch "
                    "(REELSTREAM_MAX_BATCH_SIZE)",
                    "input": len(events),
                    "ctx": {"max_length": settings.max_batch_size},
                }
            ],
        )


@router.post(
    "/batch",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RatingsAccepted,
    responses=_ERRORS,
)
async def post_ratings(
    batch: RatingBatch,
    publisher: PublisherDep,
    metrics: MetricsDep,
    _: Annotated[None, Depends(batch_size_within_limit)],
) -> RatingsAccepted:
    """Publish up to ``max_batch_size`` events; 202 only when the broker acknowledged all."""
    accepted = await publisher.publish(batch.events)
    metrics.events_accepted.inc(len(accepted))
    return RatingsAccepted(event_ids=accepted, accepted=len(accepted))
