"""Dependencies of the routes, as ``Annotated`` aliases so route signatures stay short."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader

from reelstream.serving import (
    ApiMetrics,
    RatingPublisher,
    RecommendationReader,
    ServingContext,
)
from reelstream.serving.catalog import MovieCatalog
from reelstream.settings import Settings


def get_context(request: Request) -> ServingContext:
    return request.app.state.context


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


ContextDep = Annotated[ServingContext, Depends(get_context)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_publisher(ctx: ContextDep) -> RatingPublisher:
    return ctx.publisher


def get_reader(ctx: ContextDep) -> RecommendationReader:
    return ctx.reader


def get_catalog(ctx: ContextDep) -> MovieCatalog:
    return ctx.catalog


def get_metrics(request: Request) -> ApiMetrics:
    return request.app.state.metrics


def get_cache(ctx: ContextDep) -> Any:
    return ctx.cache


def get_store(ctx: ContextDep) -> Iterator[Any]:
    """An :class:`~reelstream.store.EventStore` borrowed from the pool for one request.

    PostgreSQL unreachable -> ``StoreUnavailable``, answered 503 by the app's handler.
    """
    with ctx.stores.store() as store:
        yield store


PublisherDep = Annotated[RatingPublisher, Depends(get_publisher)]
ReaderDep = Annotated[RecommendationReader, Depends(get_reader)]
CatalogDep = Annotated[MovieCatalog, Depends(get_catalog)]
MetricsDep = Annotated[ApiMetrics, Depends(get_metrics)]
CacheDep = Annotated[Any, Depends(get_cache)]
StoreDep = Annotated[Any, Depends(get_store)]

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="Required for writes (POST /ratings...)."
)


def require_api_key(
    settings: SettingsDep,
    metrics: MetricsDep,
    key: Annotated[str | None, Depends(api_key_header)],
) -> None:
    expected = settings.api_key.get_secret_value().encode()
    if key is None or not secrets.compare_digest(key.encode(), expected):
        metrics.events_rejected.labels("unauthorized").inc()
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Missing or invalid API key (X-API-Key header)",
            headers={"WWW-Authenticate": "APIKey"},
        )


ApiKeyDep = Depends(require_api_key)
