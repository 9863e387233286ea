"""Which ratings a retraining run trains on: its cut-off, and how it was chosen.

A run trains on every rating made before its cut-off (``rated_at < cutoff``). The cut-off is,
in order:

1. ``conf["cutoff"]`` when the run was triggered with one (an ISO 8601 datetime, naive means
   UTC; not after the run's ``run_after``, since later ratings could still arrive);
2. the data interval end of a scheduled run, or of a manual run given a logical date (the
   UI's Trigger dialog fills in the current time);
3. the run's ``run_after`` for a manual run without a logical date, hence without a data
   interval (``airflow dags trigger``, the REST API with ``"logical_date": null``,
   ``reelstream retrain --trigger``): everything stored when the run was asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["CONF_KEYS", "Cutoff", "parse_cutoff", "run_cutoff"]

#: The keys a run's conf may hold.
CONF_KEYS = frozenset({"cutoff"})


@dataclass(frozen=True)
class Cutoff:
    at: datetime  # UTC
    source: str  # "conf", "data interval end" or "run_after"

    def describe(self) -> str:
        return f"ratings before {self.at.isoformat()} ({self.source})"


def parse_cutoff(value: Any) -> datetime:
    """An ISO 8601 datetime (``Z`` allowed; naive means UTC) as an aware UTC datetime."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"cutoff {value!r} is not an ISO 8601 datetime (e.g. 2026-12-01T00:00:00Z)"
            ) from None
    else:
        raise ValueError(f"cutoff must be an ISO 8601 datetime string, not {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def run_cutoff(
    *,
    run_after: datetime,
    data_interval_end: datetime | None = None,
    conf: Mapping[str, Any] | None = None,
) -> Cutoff:
    """The cut-off of one run (rules in the module docstring); ValueError for a bad conf."""
    conf = dict(conf or {})
    unknown = sorted(set(conf) - CONF_KEYS)
    if unknown:
        raise ValueError(f"unknown conf key(s) {unknown}; this DAG accepts {sorted(CONF_KEYS)}")
    run_after = parse_cutoff(run_after)
    if conf.get("cutoff") is not None:
        explicit = parse_cutoff(conf["cutoff"])
        if explicit > run_after:
            raise ValueError(
                f"cutoff {explicit.isoformat()} is after the run was asked for "
                f"({run_after.isoformat()}): ratings made later could still arrive"
            )
        return Cutoff(explicit, "conf")
    if data_interval_end is not None:
        return Cutoff(parse_cutoff(data_interval_end), "data interval end")
    return Cutoff(run_after, "run_after")
