"""The app factory: ``create_app(settings)`` wires routers, clients and error handlers.

``uvicorn api.main:app`` serves an app built from the environment (``REELSTREAM_*``);
``reelstream api`` does the same with CLI options.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request, status
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from api.deps import require_api_key
from api.edge import RequestEdge, key_protected_routes
from api.fast_lane import RecommendationsLane
from api.ratings_lane import RatingsLane
from api.read_gate import ReadKeyGate
from api.routes import catalogue, forget, health, models, movies, popular, ratings, stream, users
from reelstream.serving import (
    ApiMetrics,
    BrokerUnavailable,
    RecommendationsUnavailable,
    ServingContext,
    StoreUnavailable,
)
from reelstream.serving.metrics import LatencyMiddleware
from reelstream.schemas import configure_event_time_window
from reelstream.settings import PLACEHOLDER_API_KEY, Settings, get_settings

__all__ = ["ReelstreamAPI", "api_router", "create_app"]

api_router = APIRouter()
api_router.include_router(ratings.router)
api_router.include_router(users.router)
api_router.include_router(forget.router)
api_router.include_router(movies.router)
api_router.include_router(catalogue.router)
api_router.include_router(popular.router)
api_router.include_router(stream.router)
api_router.include_router(models.router)
api_router.include_router(health.router)


def _refuse_placeholder_key(settings: Settings) -> None:
    if (
        settings.environment != "development"
        and settings.api_key.get_secret_value() == PLACEHOLDER_API_KEY
    ):
        raise RuntimeError(
            f"refusing to start the API in environment={settings.environment!r} with the "
            "placeholder API key; set REELSTREAM_API_KEY"
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    _refuse_placeholder_key(settings)
    # Request bodies are RatingEvents: the window is this app's, for the whole process.
    configure_event_time_window(settings.event_time_min, settings.event_time_max_ahead_s)
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        context = ServingContext.open(settings, metrics)
        app.state.context = context
        # Bootstrap + metadata take a round trip or more: connect now so the first POST does not wait.
        warm_up = asyncio.create_task(context.publisher.warm_up())
        # Everything loaded so far (FastAPI, pydantic, kafka, psycopg...) lives as long as the
        # process; left to the collector, each full (gen 2) collection would walk it all, a
        # pause that makes the p99 tail (docs/performance.md). Frozen, it is not scanned.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            warm_up.cancel()
            await context.aclose()

    app = ReelstreamAPI(
        title="reelstream",
        summary="Post ratings as events; read near-real-time movie recommendations.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.include_router(api_router)
    app.add_middleware(
        RequestEdge,
        api_key=settings.api_key.get_secret_value(),
        protected=key_protected_routes(app.routes, require_api_key),
        max_body_bytes=settings.max_body_bytes,
        metrics=metrics,
    )
    app.add_middleware(LatencyMiddleware, metrics=metrics)  # outermost: times 401/413 too
    _add_exception_handlers(app, metrics)
    return app


class ReelstreamAPI(FastAPI):
    """FastAPI with the recommendations and ratings fast lanes in front of its whole
    middleware stack.

    In front of Starlette's ``ServerErrorMiddleware`` too: a fast-lane request passes one
    layer instead of four (an unexpected error there gets uvicorn's plain 500, logged).
    """

    def build_middleware_stack(self) -> ASGIApp:
        settings: Settings = self.state.settings
        stack = RecommendationsLane(super().build_middleware_stack(), self.state.metrics)
        stack = RatingsLane(
            stack,
            self.state.metrics,
            api_key=settings.api_key.get_secret_value(),
            max_body_bytes=settings.max_body_bytes,
        )
        if settings.api_reads_need_key:
            read_key = settings.api_read_key.get_secret_value() if settings.api_read_key else ""
            stack = ReadKeyGate(stack, [settings.api_key.get_secret_value(), read_key])
        return stack

    def openapi(self) -> dict[str, Any]:
        """The schema, with the limits that are settings stated as they are configured."""
        if self.openapi_schema is None:
            schema = super().openapi()
            settings: Settings = self.state.settings
            events = schema["components"]["schemas"]["RatingBatch"]["properties"]["events"]
            events["maxItems"] = settings.max_batch_size
            for operation in (schema["paths"]["/ratings"]["post"], schema["paths"]["/ratings/batch"]["post"]):
                operation["responses"]["413"]["description"] = (
                    f"Request body larger than {settings.max_body_bytes} bytes"
                )
        return self.openapi_schema  # type: ignore[return-value]


def _add_exception_handlers(app: FastAPI, metrics: ApiMetrics) -> None:
    @app.exception_handler(BrokerUnavailable)
    async def broker_unavailable(request: Request, exc: BrokerUnavailable) -> JSONResponse:
        metrics.events_rejected.labels("broker_unavailable").inc(
            len(exc.unconfirmed) or 1
        )
        metrics.events_accepted.inc(len(exc.accepted))
        return JSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            content={
                "detail": {
                    "reason": exc.reason,
                    "accepted_event_ids": [str(e) for e in exc.accepted],
                    "unconfirmed_event_ids": [str(e) for e in exc.unconfirmed],
                }
            },
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(StoreUnavailable)
    @app.exception_handler(RecommendationsUnavailable)
    async def dependency_unavailable(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            content={"detail": str(exc)},
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # FastAPI answers 400 when a body cannot be decoded at all (not UTF-8, nested too
        # deep for the JSON parser); that is invalid input like any other: 422, with why.
        if exc.status_code == 400 and isinstance(exc.__cause__, ValueError | RecursionError):
            return await invalid_request(
                request,
                RequestValidationError(
                    [
                        {
                            "type": "json_invalid",
                            "loc": ("body",),
                            "msg": f"body is not JSON text ({type(exc.__cause__).__name__})",
                            "input": {},
                        }
                    ]
                ),
            )
        if exc.status_code == 405:  # Starlette names only the first route's methods
            exc.headers = {**(exc.headers or {}), "Allow": _allowed(app, request.url.path)}
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        if request.url.path.startswith("/ratings"):
            body = exc.body
            events = body.get("events") if isinstance(body, dict) else None
            n = len(events) if isinstance(events, list) and events else 1
            metrics.events_rejected.labels("invalid").inc(n)
        return await request_validation_exception_handler(request, exc)


def _allowed(app: FastAPI, path: str) -> str:
    """Every method some route serves at ``path`` (routes of one path may be several)."""
    methods: set[str] = set()
    for route in app.routes:
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


def __getattr__(name: str) -> FastAPI:
    # ``uvicorn api.main:app``: build the app from the environment on first access only, so
    # importing this module (tests, ``create_app``) reads no settings.
    if name == "app":
        return create_app()
    raise AttributeError(name)
