"""Is the stream alive? One verdict from the dependencies' probes and the workers' heartbeats.

A pure function (:func:`assess`) used by the API's ``/health``, ``reelstream stack status``
and ``reelstream worker-health``, so all three say the same thing about the same records.

Rules (thresholds are settings, see :class:`HealthThresholds`):

- a dependency (Kafka, Redis, PostgreSQL) that is down is a reason;
- no worker heartbeat fresher than ``heartbeat_max_age_s`` is a reason (also when no worker
  ever reported: a fresh stack is not "ok" until a worker runs);
- a fresh worker that reports itself ``degraded`` (waiting out an outage) or ``starting`` is a
  reason;
- total consumer lag of the fresh workers above ``max_lag`` is a reason.

Workers whose heartbeat is older than the threshold are listed as ``stale`` but do not count
towards the lag: a replica that was scaled down leaves its last record behind for a day, and
its partitions now belong to the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from reelstream.settings import Settings
from reelstream.worker_status import WorkerStatus

__all__ = [
    "HealthThresholds",
    "WorkerSummary",
    "HealthVerdict",
    "assess",
    "summarize",
    "NO_HEARTBEAT",
]

Verdict = Literal["ok", "degraded"]
SummaryState = Literal["ok", "degraded", "starting", "stale"]

NO_HEARTBEAT = "no worker heartbeat"
#: A worker's own reason is shown, but bounded: it is free text from another process.
_MAX_REASON_CHARS = 200


@dataclass(frozen=True, slots=True)
class HealthThresholds:
    heartbeat_max_age_s: float = 10.0
    max_lag: int = 20_000

    @classmethod
    def from_settings(cls, settings: Settings) -> HealthThresholds:
        return cls(settings.health_heartbeat_max_age_s, settings.health_max_lag)


@dataclass(frozen=True, slots=True)
class WorkerSummary:
    """What readers show about one worker, with ages relative to the moment of the check."""

    worker_id: str
    state: SummaryState
    heartbeat_age_s: float
    lag: dict[int, int] = field(default_factory=dict)
    total_lag: int = 0
    newest_learned_event_age_s: float | None = None
    model_version: str = ""
    reason: str | None = None
    drift: str | None = None


@dataclass(frozen=True, slots=True)
class HealthVerdict:
    status: Verdict
    reasons: list[str]
    services: dict[str, str]
    workers: list[WorkerSummary]
    total_lag: int

    @property
    def services_up(self) -> bool:
        return all(state == "up" for state in self.services.values())


def _age_s(then: datetime | None, now: datetime) -> float | None:
    if then is None:
        return None
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    # Clocks of two hosts disagree by a little; an age is never negative.
    return max(0.0, (now - then).total_seconds())


def _bounded(reason: str | None) -> str | None:
    if reason is None or len(reason) <= _MAX_REASON_CHARS:
        return reason
    return reason[: _MAX_REASON_CHARS - 1] + "…"


def summarize(
    status: WorkerStatus, now: datetime, thresholds: HealthThresholds
) -> WorkerSummary:
    """One worker's record as seen at ``now``: ``stale`` once its heartbeat is too old."""
    age = _age_s(status.heartbeat_at, now) or 0.0
    state: SummaryState = "stale" if age > thresholds.heartbeat_max_age_s else status.state
    return WorkerSummary(
        worker_id=status.worker_id,
        state=state,
        heartbeat_age_s=round(age, 3),
        lag=dict(sorted(status.lag.items())),
        total_lag=status.total_lag,
        newest_learned_event_age_s=_rounded(_age_s(status.newest_learned_event_at, now)),
        model_version=status.model_version,
        reason=_bounded(status.reason),
        drift=_bounded(status.drift),
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def assess(
    services: Mapping[str, str],
    statuses: Sequence[WorkerStatus] | None,
    now: datetime,
    thresholds: HealthThresholds,
) -> HealthVerdict:
    """The verdict for dependency probes (``{name: "up"|"down"}``) and worker records.

    ``statuses`` is None when they could not be read (Redis down).
    """
    reasons = [f"{name} down" for name, state in services.items() if state != "up"]
    workers = [summarize(s, now, thresholds) for s in statuses or ()]
    fresh = [w for w in workers if w.state != "stale"]
    if statuses is None:
        reasons.append("worker heartbeats unreadable (redis down)")
    elif not workers:
        reasons.append(NO_HEARTBEAT)
    elif not fresh:
        newest = min(w.heartbeat_age_s for w in workers)
        reasons.append(
            f"{NO_HEARTBEAT} in the last {thresholds.heartbeat_max_age_s:g} s "
            f"(newest {newest:.0f} s ago)"
        )
    for worker in fresh:
        if worker.state == "degraded":
            why = f": {worker.reason}" if worker.reason else ""
            reasons.append(f"worker {worker.worker_id} degraded{why}")
        elif worker.state == "starting":
            reasons.append(f"worker {worker.worker_id} starting")
        if worker.drift:
            reasons.append(f"worker {worker.worker_id} model drift: {worker.drift}")
    total_lag = sum(w.total_lag for w in fresh)
    if total_lag > thresholds.max_lag:
        reasons.append(f"consumer lag {total_lag} > {thresholds.max_lag}")
    return HealthVerdict(
        status="degraded" if reasons else "ok",
        reasons=reasons,
        services=dict(services),
        workers=workers,
        total_lag=total_lag,
    )
