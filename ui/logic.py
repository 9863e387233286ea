"""Pure helpers behind the pages: what changed in a list, why a movie is there, rates and
percentiles from successive stats snapshots. No Streamlit here, so they are unit-tested alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "RATING_STEPS",
    "stars",
    "list_changes",
    "change_label",
    "reason_for",
    "rates",
    "window_quantiles",
    "served_version",
    "stalled_workers",
]

RATING_STEPS = [x / 2 for x in range(1, 11)]  # 0.5 .. 5.0


def stars(rating: float) -> str:
    full, half = int(rating), (rating - int(rating)) >= 0.5
    return "★" * full + ("½" if half else "") + f" {rating:g}"


def list_changes(before: Sequence[int], after: Sequence[int]) -> dict[int, int | None]:
    """For each movie of ``after``: None when new, else how many places it moved up (+) or
    down (-)."""
    old = {m: i for i, m in enumerate(before)}
    return {m: (None if m not in old else old[m] - i) for i, m in enumerate(after)}


def change_label(move: int | None) -> str:
    if move is None:
        return "new"
    if move > 0:
        return f"▲ {move}"
    if move < 0:
        return f"▼ {-move}"
    return "="


def summarise_changes(before: Sequence[int], after: Sequence[int]) -> str:
    changes = list_changes(before, after)
    new = sum(1 for v in changes.values() if v is None)
    up = sum(1 for v in changes.values() if v and v > 0)
    down = sum(1 for v in changes.values() if v and v < 0)
    gone = len(set(before) - set(after))
    if not (new or up or down or gone):
        return "list unchanged"
    return f"list changed: {new} new, {up} up, {down} down, {gone} dropped"


def reason_for(item: Mapping[str, Any], source: str, rated: Mapping[int, Mapping[str, Any]]) -> str:
    """The model's own reason: the user's rated movies its score owes most to (the item's
    ``because`` from the API), with their share; ``rated`` maps movie id -> ``title``/``rating``.
    """
    if source != "personal":
        return "popular with recent raters"
    parts = []
    for reason in item.get("because") or []:
        movie = rated.get(int(reason["movie_id"])) or {}
        title = movie.get("title") or f"movie {reason['movie_id']}"
        stars_given = f" {float(movie['rating']):g}★" if movie.get("rating") is not None else ""
        parts.append(f"{title}{stars_given} ({float(reason['share']):.0%})")
    if parts:
        return "because you rated " + ", ".join(parts)
    return "predicted from your ratings"


def rates(samples: Sequence[tuple[float, Mapping[str, float]]], key: str) -> list[tuple[float, float]]:
    """``[(t, per-second rate)]`` of a cumulative counter from ``[(t, counters)]`` samples;
    a counter that went down (a worker restarted) counts from zero."""
    out = []
    for (t0, a), (t1, b) in zip(samples, samples[1:]):
        if t1 <= t0:
            continue
        delta = b.get(key, 0) - a.get(key, 0)
        out.append((t1, max(0.0, delta if delta >= 0 else b.get(key, 0)) / (t1 - t0)))
    return out


def window_quantiles(bounds: Sequence[float], first: Sequence[int], last: Sequence[int],
                     qs: Sequence[float] = (0.5, 0.95)) -> list[float | None]:
    """Quantiles (seconds) of what a cumulative histogram gained between two snapshots."""
    counts = [max(0, b - a) for a, b in zip(first, last)] if len(first) == len(last) else list(last)
    total = sum(counts)
    out: list[float | None] = []
    for q in qs:
        if total == 0:
            out.append(None)
            continue
        rank, seen, lower = q * total, 0, 0.0
        value = None
        for bound, count in zip([*bounds, float("inf")], counts):
            if count and seen + count >= rank:
                value = lower if bound == float("inf") else lower + (bound - lower) * (rank - seen) / count
                break
            seen += count
            lower = bound
        out.append(value if value is not None else lower)
    return out


_VERSION = re.compile(r"champion-v(\d+)")


def served_version(model_version: str | None) -> str | None:
    """The registered version a worker's model started from (``champion-v3+online`` -> 3)."""
    match = _VERSION.search(model_version or "")
    return match[1] if match else None


def stalled_workers(history: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Workers that look stalled, with why: no heartbeat for a while (the API's flag), or lag
    that grew across the window while nothing was learned. ``history``: stats snapshots,
    oldest first."""
    if not history:
        return {}
    latest = {w["worker_id"]: w for w in history[-1].get("workers", [])}
    out = {wid: w.get("reason") or "no recent heartbeat" for wid, w in latest.items() if w.get("stalled")}
    if len(history) >= 3:
        first = {w["worker_id"]: w for w in history[0].get("workers", [])}
        for wid, w in latest.items():
            old = first.get(wid)
            if wid in out or old is None:
                continue
            if w["total_lag"] > old["total_lag"] and w["events_learned"] == old["events_learned"]:
                out[wid] = f"lag grew from {old['total_lag']} to {w['total_lag']} and nothing was learned"
    return out
