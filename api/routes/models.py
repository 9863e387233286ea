"""The model registry: versions and their quality, the champion, promote / roll back (with the
API key), and a user's list as any registered version would rank it."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Path, Query, Request

from api.deps import ApiKeyDep, CatalogDep, ContextDep, SettingsDep, StoreDep
from reelstream.serving.context import USER_ID_MAX
from api.bodies import (
    ChampionChanged,
    Message,
    ModelRegistry,
    RecommendedMovie,
    VersionRecommendations,
)
from reelstream.serving.model_admin import (
    ModelRegistryError,
    UnknownVersion,
    VersionScorer,
    list_models,
    promote_version,
    rollback_champion,
)

router = APIRouter(prefix="/models", tags=["models"])

Version = Annotated[str, Path(pattern=r"^[0-9]{1,9}$", description="Registered version number.")]
_DOWN = {503: {"model": Message, "description": "MLflow unreachable"}}
_UNKNOWN = {404: {"model": Message, "description": "No such registered version"}}
_KEY = {401: {"model": Message, "description": "Missing or wrong X-API-Key"}}


def _unavailable(exc: Exception) -> HTTPException:
    return HTTPException(status_code=503, detail=str(exc), headers={"Retry-After": "5"})


@router.get("", response_model=ModelRegistry, responses=_DOWN)
async def read_models(settings: SettingsDep) -> ModelRegistry:
    """Registered versions, newest first (at most 50): aliases, metrics, data range."""
    try:
        return ModelRegistry.model_validate(await anyio.to_thread.run_sync(list_models, settings))
    except ModelRegistryError as exc:
        raise _unavailable(exc) from exc


@router.get(
    "/live",
    responses={503: {"model": Message, "description": "Redis unreachable"}},
)
async def read_live_models(ctx: ContextDep) -> dict:
    """Test-then-learn figures over the last ``REELSTREAM_LIVE_WINDOW`` events of each worker:
    the champion (serving) and the shadow challenger, merged across fresh workers and per
    worker (RMSE, MAE, HR@10, NDCG@10, drifts detected)."""
    from redis import RedisError

    from reelstream.evaluation.live_figures import live_models

    try:
        return await anyio.to_thread.run_sync(
            live_models,
            ctx.cache.client,
            ctx.settings.redis_prefix,
            ctx.settings.health_heartbeat_max_age_s,
        )
    except RedisError as exc:
        raise _unavailable(RuntimeError("Redis unreachable")) from exc


@router.post(
    "/{version}/promote",
    response_model=ChampionChanged,
    dependencies=[ApiKeyDep],
    responses=_KEY | _UNKNOWN | _DOWN,
)
async def promote(version: Version, settings: SettingsDep) -> ChampionChanged:
    """Point ``champion`` at this version and tell running workers to warm-start from it."""
    try:
        result = await anyio.to_thread.run_sync(
            promote_version, settings, version, "manual (web app / API)"
        )
    except UnknownVersion as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except ModelRegistryError as exc:
        raise _unavailable(exc) from exc
    return ChampionChanged.model_validate(result)


@router.post(
    "/rollback",
    response_model=ChampionChanged,
    dependencies=[ApiKeyDep],
    responses=_KEY | _DOWN | {409: {"model": Message, "description": "No earlier champion"}},
)
async def rollback(settings: SettingsDep) -> ChampionChanged:
    """Put the previous champion back (repeatable down the promotion history)."""
    try:
        result = await anyio.to_thread.run_sync(rollback_champion, settings)
    except ModelRegistryError as exc:
        raise _unavailable(exc) from exc
    except LookupError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    return ChampionChanged.model_validate(result)


def _scorer(request: Request, settings: SettingsDep) -> VersionScorer:
    scorer = getattr(request.app.state, "version_scorer", None)
    if scorer is None:
        scorer = request.app.state.version_scorer = VersionScorer(settings)
    return scorer


@router.get(
    "/{version}/users/{user_id}/recommendations",
    response_model=VersionRecommendations,
    responses=_UNKNOWN | _DOWN,
)
def version_recommendations(
    version: Version,
    user_id: Annotated[int, Path(gt=0, lt=USER_ID_MAX)],
    request: Request,
    settings: SettingsDep,
    store: StoreDep,
    catalog: CatalogDep,
    n: Annotated[int, Query(ge=1, le=100)] = 10,
) -> VersionRecommendations:
    """The user's top-``n`` by this version's batch factors alone (no online updates), the
    user's rated movies excluded: compare versions for one person."""
    rated = store.rated_movie_ids([user_id]).get(user_id, set())
    try:
        known, ranked = _scorer(request, settings).top_n(version, user_id, n, rated)
    except UnknownVersion as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except ModelRegistryError as exc:
        raise _unavailable(exc) from exc
    info = catalog.lookup([m for m, _ in ranked])
    return VersionRecommendations(
        version=version,
        user_id=user_id,
        known_user=known,
        items=[
            RecommendedMovie(movie_id=m, title=info[m].title, genres=info[m].genres, score=s)
            for m, s in ranked
        ],
    )
