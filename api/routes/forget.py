"""``DELETE /users/{user_id}``: forget a user (needs the API key).

Their ratings leave PostgreSQL, their lists leave Redis, and every running worker drops them
from its model and checkpoints (:mod:`reelstream.streaming.forget`). The answer says what was
removed where, with each worker's report (those that answered within a few seconds).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from api.deps import ApiKeyDep, CacheDep, SettingsDep, StoreDep
from api.bodies import Message
from reelstream.forget_channel import announce_forget, worker_reports

router = APIRouter(prefix="/users", tags=["users"], dependencies=[ApiKeyDep])

UserId = Annotated[int, Path(gt=0, lt=2**31)]
WORKER_WAIT_S = 5.0


class Forgotten(BaseModel):
    user_id: int
    ratings_deleted: int = Field(description="Rows removed from PostgreSQL.")
    lists_deleted: bool = Field(description="Whether a cached list was removed from Redis.")
    workers_notified: int = Field(description="Running workers that received the command.")
    workers: dict[str, dict[str, int]] = Field(
        description="Per worker that answered in time: what its model removed (factors, "
        "rated, recent, means, warm, lists).")


@router.delete("/{user_id}", response_model=Forgotten, responses={
    401: {"model": Message, "description": "Missing or invalid API key"},
    503: {"model": Message, "description": "PostgreSQL or Redis unreachable"}})
def forget_user(user_id: UserId, store: StoreDep, cache: CacheDep,
                settings: SettingsDep) -> Forgotten:
    """Remove the user's ratings, cached lists and model state on every worker."""
    ratings = store.delete_user_ratings(user_id)
    lists = bool(cache.delete_user_recommendations(user_id))
    notified = announce_forget(cache.client, settings, user_id)
    reports = worker_reports(cache.client, settings, user_id, notified, WORKER_WAIT_S)
    return Forgotten(user_id=user_id, ratings_deleted=ratings, lists_deleted=lists,
                     workers_notified=notified, workers=reports)
