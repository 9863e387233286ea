"""Live figures of the champion and the shadow challenger, per worker and merged, from the
workers' status records in Redis (the API's ``GET /models/live``, the web app's Models page)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reelstream.evaluation.live import merge_live
from reelstream.worker_status import read_statuses

__all__ = ["live_models"]


def live_models(redis_client: Any, prefix: str, stale_after_s: float) -> dict[str, Any]:
    """``{"at", "roles": {role: merged figures}, "workers": [...]}`` over the workers whose
    heartbeat is fresh; a role's figures are merged only across workers running the same
    version of it (the newest heartbeat's)."""
    now = datetime.now(UTC)
    fresh = [s for s in read_statuses(redis_client, prefix) if s.heartbeat_age_s(now) <= stale_after_s]
    roles: dict[str, Any] = {}
    for role in ("champion", "challenger"):
        parts = [s.live[role] for s in fresh if role in s.live]
        if not parts:
            continue
        version = parts[0].get("version")
        merged = merge_live(p for p in parts if p.get("version") == version)
        if merged is not None:
            roles[role] = {"version": version, **merged}
    workers = [
        {"worker_id": s.worker_id, "heartbeat_at": s.heartbeat_at.isoformat(), "live": s.live,
         "drift": s.drift}
        for s in fresh
    ]
    return {"at": now.isoformat(), "roles": roles, "workers": workers}
