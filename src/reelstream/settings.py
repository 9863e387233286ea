"""Every URL and tunable of reelstream, read from ``REELSTREAM_*`` environment variables.

Defaults point at the embedded stack (``reelstream stack up``): real servers on loopback,
on non-standard ports, with their state under ``state_dir``. Point any URL elsewhere
(docker-compose, a managed Kafka, ...) and the embedded stack leaves that service alone.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings", "PLACEHOLDER_API_KEY", "EMBEDDED_DEFAULTS"]

PLACEHOLDER_API_KEY = "dev-key-change-me"

#: The URLs the embedded stack serves. A setting equal to its embedded default means
#: "run it embedded"; anything else means "someone else runs it".
EMBEDDED_DEFAULTS = {
    "kafka_bootstrap_servers": "127.0.0.1:19092",
    "redis_url": "redis://127.0.0.1:16379/0",
    "postgres_dsn": "postgresql://reelstream@127.0.0.1:15432/reelstream",
    "mlflow_tracking_uri": "http://127.0.0.1:15000",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="REELSTREAM_", env_file=".env", extra="ignore", validate_default=True
    )

    environment: Literal["development", "test", "production"] = "development"
    state_dir: Path = Field(
        Path(".reelstream"),
        description="Folder for the embedded servers' data/logs and the nightly snapshots; "
        "relative means relative to the folder a command starts in (made absolute then). "
        "Nothing in it changes the model: hyper-parameters come from REELSTREAM_PARAMS.",
    )
    data_dir: Path = Field(Path("data"), description="DVC-managed data (raw downloads, outputs).")
    params: Path | None = Field(
        None,
        description="Parameters file (hyper-parameters of the models); unset: the defaults "
        "shipped in the package. Read from the environment (also `reelstream --params`); "
        "a path that does not exist is an error.",
    )
    movielens_path: Path | None = Field(
        None, description="Local MovieLens folder to use instead of downloading."
    )

    # --- Kafka -----------------------------------------------------------------------------
    kafka_bootstrap_servers: str = EMBEDDED_DEFAULTS["kafka_bootstrap_servers"]
    ratings_topic: str = "ratings"
    dlq_topic: str = "ratings.dlq"
    topic_partitions: int = Field(4, ge=1)
    consumer_group: str = "reelstream-worker"
    topic_replication_factor: int = Field(
        1, ge=1, description="Replicas of each topic reelstream creates (3 on a cluster)."
    )
    topic_min_insync_replicas: int = Field(
        1,
        ge=1,
        description="Replicas that must have a rating before it is acknowledged (acks=all); "
        "2 with 3 replicas survives one broker loss without losing an acknowledged event.",
    )
    ratings_retention_ms: int = Field(
        -1,
        ge=-1,
        description="How long Kafka keeps ratings (-1: forever), so a new model or consumer "
        "group can replay the whole history from Kafka (docs/kafka.md).",
    )
    # Embedded broker (Apache Kafka from Maven; docs/kafka.md)
    kafka_dist_dir: Path = Field(
        Path("~/.cache/reelstream"),
        description="Where Maven's copy of the broker's jars is kept (kafka-<version>/libs), "
        "shared by every stack on the machine.",
    )
    kafka_heap_mb: int = Field(512, ge=128, description="The embedded broker's JVM heap cap.")
    kafka_controller_port: int = Field(
        0, ge=0, le=65535, description="The embedded KRaft controller's port (0: any free one)."
    )
    # Consumer group: how soon a dead worker's partitions move to another member (the session
    # timeout), how often members check in, and the longest gap between two polls (the
    # rebalance timeout) before a member is evicted.
    kafka_session_timeout_ms: int = 6000
    kafka_heartbeat_interval_ms: int = 1000
    kafka_rebalance_timeout_ms: int = 4000
    kafka_request_timeout_ms: int = 10000
    # Longest a worker fetch waits for new records. Faust hard-codes 1500 ms; a fetch in flight
    # holds back records of partitions it does not cover, so a long wait shows in freshness;
    # a short one costs idle fetches.
    kafka_fetch_max_wait_ms: int = Field(10, ge=1, le=1500)
    # Bytes a worker fetch waits for (up to that wait) before the broker answers. 1 answers
    # with whatever is there: a steady stream of posts is then fetched a record or two at a
    # time, each fetch costing the worker and the broker as much as a full one.
    kafka_fetch_min_bytes: int = Field(4096, ge=1, le=1_048_576)
    # How long the API's producer holds a rating for others to share its produce request.
    # A POST waits that long at most; under load, fewer requests cost the API and the broker
    # less CPU than the wait costs the client.
    api_producer_linger_ms: int = Field(3, ge=0, le=100)

    # --- Stores ----------------------------------------------------------------------------
    redis_url: str = EMBEDDED_DEFAULTS["redis_url"]
    redis_prefix: str = Field("reelstream:", description="Prefix of every Redis key we write.")
    postgres_dsn: str = EMBEDDED_DEFAULTS["postgres_dsn"]
    mlflow_tracking_uri: str = EMBEDDED_DEFAULTS["mlflow_tracking_uri"]
    mlflow_experiment: str = "reelstream"
    registered_model_name: str = "reelstream-mf"

    # --- Health (API /health, stack status, worker-health) ---------------------------------
    health_heartbeat_max_age_s: float = Field(
        10.0, gt=0, description="A worker heartbeat older than this counts as stalled."
    )
    health_max_lag: int = Field(
        20_000, ge=0, description="Total consumer lag above this makes /health degraded."
    )
    health_cache_s: float = Field(
        1.0, ge=0, description="How long /health reuses one probe of the dependencies."
    )

    # --- Airflow (``reelstream retrain --trigger``) -----------------------------------------
    airflow_url: str = Field("http://127.0.0.1:8080", description="A running Airflow's API.")
    airflow_username: str = "admin"
    airflow_password: SecretStr | None = Field(
        None, description="Default: the simple auth manager's generated password file in "
        "<state_dir>/airflow (as `reelstream airflow standalone` sets it up).",
    )

    # --- Serving ---------------------------------------------------------------------------
    api_host: str = "127.0.0.1"
    api_port: int = 18000
    api_redis_client: str = Field(
        "pipelined",
        pattern=r"^(pipelined|redis-py|[\w.]+:\w+)$",
        description="Redis client of the API's reads: pipelined, redis-py, or module:factory "
        "(reelstream.serving.redis_clients).",
    )
    api_key: SecretStr = SecretStr(PLACEHOLDER_API_KEY)
    api_reads_need_key: bool = Field(
        False,
        description="Every read (recommendations, ratings, movies, models...) needs X-API-Key: "
        "REELSTREAM_API_KEY or REELSTREAM_API_READ_KEY. /health, /metrics and the docs stay "
        "open. On in docker-compose.yml.",
    )
    api_read_key: SecretStr | None = Field(
        None, description="A key that opens reads only (with REELSTREAM_API_READS_NEED_KEY)."
    )
    top_n: int = Field(20, ge=1, le=500, description="Recommendations kept per user in Redis.")
    recommendation_ttl_s: int = Field(7 * 24 * 3600, ge=60)
    max_batch_size: int = Field(1000, ge=1, le=100_000)
    max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="Larger request bodies are refused with 413."
    )
    stale_after_s: float = Field(
        86_400.0,
        gt=0,
        description="A recommendation list computed longer ago than this is served with "
        "stale=true (lists are rewritten when their user rates, and a model is retrained "
        "nightly: older means it predates the last retraining).",
    )

    new_movie_slots: int = Field(
        2, ge=0, le=50, description="Movies added over the API (POST /movies) shown first in "
        "the popular lists, the newest first (0: none).",
    )
    new_movie_days: float = Field(
        7.0, gt=0, description="How long a movie added over the API counts as new."
    )

    # --- Event validation (API and worker) ---------------------------------------------------
    event_time_min: datetime = Field(
        datetime(1995, 1, 1, tzinfo=UTC),
        description="Earliest accepted event time (MovieLens starts in 1995); naive = UTC.",
    )
    event_time_max_ahead_s: float = Field(
        86_400.0, ge=0, le=366 * 86_400, description="Latest accepted event time, past the clock."
    )

    # --- Web app ---------------------------------------------------------------------------
    ui_api_url: str = Field(
        "", description="The API the web app talks to; empty: http://{api_host}:{api_port}."
    )
    ui_api_key: SecretStr | None = Field(
        None, description="Key the web app sends with ratings and reads; unset: api_key. "
        "Promoting or rolling back a model always takes the key the person types in.",
    )
    ui_host: str = "127.0.0.1"
    ui_port: int = Field(18501, ge=1, le=65535)

    # --- Worker ----------------------------------------------------------------------------
    worker_id: str = Field(
        default_factory=socket.gethostname,
        description="Stable name of this worker (its checkpoint's key); unique per replica.",
    )
    worker_batch_size: int = Field(500, ge=1)
    worker_batch_within_s: float = Field(
        0.01,
        gt=0,
        description="Longest wait for a batch to fill. Shorter means fresher lists for a lone "
        "event; under load, batches taken while the processor is busy are joined anyway, up "
        "to worker_batch_size (docs/settings.md).",
    )
    worker_batches_in_flight: int = Field(
        2,
        ge=1,
        description="Batches handed to the processor process and not yet acknowledged; 1 "
        "means the next batch is only sent once the previous one is done.",
    )
    worker_metrics_port: int = Field(
        18001,
        ge=0,
        le=65535,
        description="Serve the worker's Prometheus metrics here (0: off; a port already in "
        "use, e.g. by a second worker on the host, is logged and skipped).",
    )
    worker_metrics_host: str = Field(
        "127.0.0.1",
        description="Address the worker's metrics listen on: loopback unless something else "
        "must scrape them (docker-compose.yml sets 0.0.0.0 on its private network).",
    )
    worker_heartbeat_s: float = Field(
        1.0, gt=0, description="How often the worker publishes its status to Redis."
    )
    live_eval: bool = Field(
        True,
        description="Score every event before learning it (the served model's rating and the "
        "user's current list; RMSE, MAE, HR@10, NDCG@10) and watch the error for drift.",
    )
    live_window: int = Field(
        10_000, ge=1, description="Events the live figures are computed over (per worker)."
    )
    live_gate_every_s: float = Field(
        30.0, gt=0, description="How often a worker checks the live gate of a challenger."
    )
    live_drift_min_shift: float = Field(
        0.4,
        gt=0,
        description="Rise of the live absolute error (stars), held over the 500 events after "
        "ADWIN detected it, that counts as a drift (shorter or smaller rises are one rater's "
        "burst, not a shift in taste).",
    )
    live_drift_hold_s: float = Field(
        600.0,
        ge=0,
        description="A drift the live evaluation detected stays on /health this long.",
    )
    checkpoint_every_events: int = Field(
        20_000,
        ge=1,
        description="A restart re-learns about this many events from PostgreSQL at most "
        "(more when REELSTREAM_CHECKPOINT_MAX_SHARE holds a costly checkpoint back); fewer "
        "means a checkpoint (the whole model) more often under load.",
    )
    checkpoint_every_s: float = Field(30.0, gt=0)
    checkpoint_max_share: float = Field(
        0.02,
        gt=0,
        le=1,
        description="Most of the processor's time checkpoints may take: a checkpoint comes "
        "no sooner than its cost divided by this after the last one, so a large model is "
        "checkpointed less often than every N events (a restart re-learns more).",
    )
    list_max_delay_s: float = Field(
        1.0,
        ge=0,
        description="Under a backlog, how long an affected user's list may wait so that "
        "several of their ratings make one list (0: a list after every batch).",
    )
    list_catchup_unread: int = Field(
        20_000,
        ge=1,
        description="When the worker's consumer has at least this many events still to read "
        "(a replay, or catching up after an outage), lists wait up to list_catchup_delay_s "
        "instead: a list written now would be superseded by the user's events still queued.",
    )
    list_catchup_delay_s: float = Field(
        15.0,
        ge=0,
        description="How long a list may wait while the worker catches up (it is then "
        "behind by at least list_catchup_unread events already).",
    )
    item_sync: bool = Field(
        True,
        description="Share item state between workers through the Redis stream "
        "'<redis prefix>items:deltas' (docs/scale-out.md).",
    )

    @field_validator("state_dir", "data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        # fixed when the settings are read: a later chdir does not move them
        return value.expanduser().absolute()

    @field_validator("params")
    @classmethod
    def _existing(cls, value: Path | None) -> Path | None:
        if value is not None and not value.expanduser().is_file():
            raise ValueError(f"REELSTREAM_PARAMS: {value} does not exist")
        return value

    @field_validator("event_time_min")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.environment == "production" and (
            self.api_key.get_secret_value() == PLACEHOLDER_API_KEY
        ):
            raise ValueError(
                "REELSTREAM_API_KEY is still the development placeholder; "
                "set a real key when REELSTREAM_ENVIRONMENT=production"
            )
        return self

    def to_env(self) -> dict[str, str]:
        """These settings as ``REELSTREAM_*`` variables, e.g. for a worker subprocess."""
        env = {}
        for name, value in self.model_dump(exclude_none=True).items():
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[f"REELSTREAM_{name.upper()}"] = str(value)
        return env

    @property
    def ui_api_base_url(self) -> str:
        return (self.ui_api_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    @property
    def ui_client_key(self) -> str:
        key = self.ui_api_key or self.api_key
        return key.get_secret_value()

    def is_embedded(self, field: str) -> bool:
        """True when ``field`` (a URL setting) points at the embedded stack's default."""
        return getattr(self, field) == EMBEDDED_DEFAULTS[field]


@lru_cache
def get_settings() -> Settings:
    return Settings()
