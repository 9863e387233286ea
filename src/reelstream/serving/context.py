"""Everything the API holds open while it runs, created and closed in one place.

Nothing here connects eagerly: the API must start, and ``/health`` must say what is down,
while Kafka, Redis or PostgreSQL is unreachable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from reelstream.catalog import MovieCatalog
from reelstream.health import HealthThresholds
from reelstream.serving.health_probe import BrokerProbe, HealthMonitor
from reelstream.serving.metrics import ApiMetrics
from reelstream.serving.publisher import RatingPublisher
from reelstream.serving.recommendations import RecommendationReader
from reelstream.serving.redis_clients import open_get_client
from reelstream.serving.store_pool import StorePool
from reelstream.settings import Settings
from reelstream.worker_status import WorkerStatus, read_statuses

__all__ = ["N_MAX", "USER_ID_MAX", "ServingContext", "ServiceStatus", "recommendations_body"]

ServiceStatus = Literal["up", "down"]

USER_ID_MAX = 2**31  # exclusive
N_MAX = 500  # most recommendations one request may ask for


@dataclass
class ServingContext:
    settings: Settings
    publisher: RatingPublisher
    stores: StorePool
    cache: Any  # reelstream.cache.RecommendationCache
    catalog: MovieCatalog
    reader: RecommendationReader
    metrics: ApiMetrics = field(default_factory=ApiMetrics)

    @classmethod
    def open(cls, settings: Settings, metrics: ApiMetrics | None = None) -> ServingContext:
        from reelstream.cache import RecommendationCache

        stores = StorePool(settings.postgres_dsn)
        publisher = RatingPublisher(settings)
        cache = RecommendationCache.from_settings(settings)
        catalog = MovieCatalog(stores)
        redis_async = open_get_client(settings.redis_url, settings.api_redis_client)
        return cls(
            settings=settings,
            publisher=publisher,
            stores=stores,
            cache=cache,
            catalog=catalog,
            reader=RecommendationReader(
                redis_async,
                cache,
                catalog,
                popular_from_store=stores.popular,
                stale_after_s=settings.stale_after_s,
            ),
            metrics=metrics or ApiMetrics(),
        )

    async def aclose(self) -> None:
        await self.reader.redis.aclose()
        await self.publisher.aclose()
        self.close()

    def close(self) -> None:
        self.stores.close()
        if "_broker_probe" in self.__dict__:
            self._broker_probe.close()
        close = getattr(self.cache, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                pass

    # -- health ------------------------------------------------------------------------------
    # The probes behind /health (reelstream.serving.health_probe caches and shares them).
    def check_kafka(self, timeout_s: float = 2.0) -> bool:
        return self._broker_probe.reachable(timeout_s)

    def check_redis(self) -> bool:
        try:
            return bool(self.cache.ping())
        except Exception:
            return False

    def check_postgres(self) -> bool:
        return self.stores.ping()

    def read_worker_statuses(self) -> list[WorkerStatus]:
        return read_statuses(self.cache.client, self.settings.redis_prefix)

    @cached_property
    def _broker_probe(self) -> BrokerProbe:
        return BrokerProbe(self.settings)

    @cached_property
    def health_monitor(self) -> HealthMonitor:
        return HealthMonitor(
            {"kafka": self.check_kafka, "redis": self.check_redis, "postgres": self.check_postgres},
            self.read_worker_statuses,
            HealthThresholds.from_settings(self.settings),
            ttl_s=self.settings.health_cache_s,
        )

    def health(self) -> dict[str, ServiceStatus]:
        """Probe Kafka, Redis and PostgreSQL now (uncached); each ``up`` or ``down``."""
        return self.health_monitor.probe_now().services  # type: ignore[return-value]


async def recommendations_body(ctx: ServingContext, user_id: int, n: int) -> bytes:
    """The JSON body of a recommendations response (the API's fast lane and its route both
    answer with this).

    No pydantic model is built for cached data: the body has exactly the fields of the
    ``Recommendations`` response model (the tests validate responses against it).
    """
    body, source, origin = await ctx.reader.response_for_user(user_id, n)
    ctx.metrics.count_served(source, origin)
    return body
