"""Everything the API holds open while it runs, created and closed in one place.

Nothing here connects eagerly: the API must start, and ``/health`` must say what is down,
while Kafka, Redis or PostgreSQL is unreachable.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from reelstream.catalog import MovieCatalog
from reelstream.serving.metrics import ApiMetrics
from reelstream.serving.publisher import RatingPublisher
from reelstream.serving.recommendations import RecommendationReader
from reelstream.serving.redis_clients import open_get_client
from reelstream.serving.store_pool import StorePool
from reelstream.settings import Settings

__all__ = ["ServingContext", "ServiceStatus"]

ServiceStatus = Literal["up", "down"]


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
                redis_async, cache, catalog, popular_from_store=stores.popular
            ),
            metrics=metrics or ApiMetrics(),
        )

    async def aclose(self) -> None:
        await self.reader.redis.aclose()
        await self.publisher.aclose()
        self.close()

    def close(self) -> None:
        self.stores.close()
        close = getattr(self.cache, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                pass

    # -- health ------------------------------------------------------------------------------
    def check_kafka(self, timeout_s: float) -> bool:
        from reelstream.kafka import broker_reachable

        try:
            return bool(broker_reachable(self.settings, timeout_s))
        except Exception:
            return False

    def check_redis(self) -> bool:
        try:
            return bool(self.cache.ping())
        except Exception:
            return False

    def check_postgres(self) -> bool:
        return self.stores.ping()

    def health(self, timeout_s: float = 2.0) -> dict[str, ServiceStatus]:
        """Probe Kafka, Redis and PostgreSQL concurrently; each answers ``up`` or ``down``."""
        checks = {
            "kafka": lambda: self.check_kafka(timeout_s),
            "redis": self.check_redis,
            "postgres": self.check_postgres,
        }
        deadline = time.monotonic() + timeout_s + 1.0
        pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="health")
        try:
            futures = {name: pool.submit(check) for name, check in checks.items()}
            result: dict[str, ServiceStatus] = {}
            for name, future in futures.items():
                try:
                    ok = future.result(timeout=max(0.0, deadline - time.monotonic()))
                except Exception:
                    ok = False
                result[name] = "up" if ok else "down"
            return result
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
