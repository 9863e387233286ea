"""Dependencies of the routes, as ``Annotated`` aliases so route signatures stay short.

Dependencies that do no blocking I/O are ``async def``: FastAPI runs a plain ``def``
dependency in its thread pool, and those thread hops (GIL hand-offs) were most of the cost of
a recommendations request. For the same reason the aliases read ``request.app.state``
directly instead of depending on one another: each nesting level costs a resolution pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from reelstream.serving import (
    ApiMetrics,
    RatingPublisher,
    RecommendationReader,
    ServingContext,
)
from reelstream.catalog import MovieCatalog
from reelstream.settings import Settings


async def get_context(request: Request) -> ServingContext:
    return request.app.state.context


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


ContextDep = Annotated[ServingContext, Depends(get_context)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_publisher(request: Request) -> RatingPublisher:
    return request.app.state.context.publisher


async def get_reader(request: Request) -> RecommendationReader:
    return request.app.state.context.reader


async def get_catalog(request: Request) -> MovieCatalog:
    return request.app.state.context.catalog


async def get_metrics(request: Request) -> ApiMetrics:
    return request.app.state.metrics


async def get_cache(request: Request) -> Any:
    return request.app.state.context.cache


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


async def require_api_key(key: Annotated[str | None, Depends(api_key_header)]) -> None:
    """Marks a route as a write that needs ``X-API-Key`` (and puts the header in the OpenAPI
    schema). The key itself is checked by :mod:`api.edge` before the body is read: a request
    reaching the route already carries the right one."""


ApiKeyDep = Depends(require_api_key)
