"""Live stream: events in and learned, lag, dead letters, latency and freshness, refreshed
every two seconds from ``GET /stream/stats`` (rates come from successive snapshots)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from statistics import quantiles
from typing import Any

import pandas as pd
import streamlit as st

from ui.charts import time_chart
from ui.common import ApiError, get_client, page_header
from ui.logic import rates, stalled_workers, window_quantiles

REFRESH_S = 2.0
WINDOW = 150  # snapshots kept: five minutes at one every two seconds
RECS = "GET /users/{user_id}/recommendations"

client = get_client()
page_header("Live stream")
st.caption(f"Refreshes every {REFRESH_S:g} s; charts cover the last {WINDOW * REFRESH_S / 60:g} minutes "
           "this page has been open.")


def _counters(stats: dict[str, Any]) -> dict[str, float]:
    workers = stats.get("workers", [])
    return {
        "stored": sum(w["events_stored"] for w in workers),
        "learned": sum(w["events_learned"] for w in workers),
        "accepted": stats["api"]["events_accepted"],
        "dead_letters": sum(w["dead_letters"] for w in workers),
    }


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.1f}"


@st.fragment(run_every=REFRESH_S)
def live() -> None:
    history: list[tuple[float, dict[str, Any]]] = st.session_state.setdefault("live_history", [])
    try:
        stats = client.stream_stats()
    except ApiError as exc:
        st.error(f"Could not read the stream's state: {exc}", icon=":material/warning:")
        return
    history.append((time.time(), stats))
    del history[:-WINDOW]
    snapshots = [s for _, s in history]
    samples = [(t, _counters(s)) for t, s in history]
    workers = stats.get("workers", [])

    if not workers:
        st.warning("No worker has reported in the last day: nothing is consuming the ratings "
                   "topic. Start one with `reelstream worker`.", icon=":material/error:")
    for worker_id, why in stalled_workers(snapshots).items():
        st.error(f"Worker **{worker_id}** looks stalled: {why}.", icon=":material/error:")

    def last_rate(key: str) -> str:
        series = rates(samples[-6:], key)
        return "—" if not series else f"{sum(r for _, r in series) / len(series):,.1f}/s"

    older = history[max(0, len(history) - 30)][1]["api"]["latency"].get(RECS)
    newest = stats["api"]["latency"].get(RECS)
    p50, p95 = (window_quantiles(newest["bounds_s"], older["counts"], newest["counts"])
                if newest and older else (None, None))
    mine = st.session_state.get("refresh_times_ms", [])
    cols = st.columns(6)
    cols[0].metric("Events in (API)", last_rate("accepted"))
    cols[1].metric("Stored", last_rate("stored"))
    cols[2].metric("Learned", last_rate("learned"))
    cols[3].metric("Consumer lag", f"{sum(w['total_lag'] for w in workers):,}")
    cols[4].metric("Dead letters", f"{int(_counters(stats)['dead_letters']):,}")
    # Units in the label: the value must fit a sixth of the page.
    cols[5].metric("API p50 / p95 (ms)",
                   f"{_ms(p50)} / {_ms(p95)}" if p50 is not None and p95 is not None else "—",
                   help="GET recommendations, over the last minute of this page")
    if len(mine) >= 2:
        q = quantiles(mine, n=20)
        st.caption(f"Freshness of your own ratings (posted → refreshed list read, {len(mine)} "
                   f"ratings this session): p50 {q[9]:.0f} ms, p95 {q[18]:.0f} ms")

    times = [datetime.fromtimestamp(t, UTC) for t, _ in history]
    left, right = st.columns(2)
    with left:
        st.markdown("**Events per second**")
        frame = pd.DataFrame({k: dict(rates(samples, k)) for k in ("accepted", "stored", "learned")})
        if not frame.empty:
            frame.index = [datetime.fromtimestamp(t, UTC) for t in frame.index]
        time_chart(frame, "events/s")
        st.markdown("**Consumer lag (messages)**")
        lag = pd.DataFrame([{w["worker_id"]: w["total_lag"] for w in s.get("workers", [])} for s in snapshots],
                           index=times)
        time_chart(lag, "messages", value_format=",d", height=200)
    with right:
        st.markdown("**Age of the newest learned event (s)**")
        age = pd.DataFrame([{w["worker_id"]: w["newest_learned_age_s"] for w in s.get("workers", [])}
                            for s in snapshots], index=times)
        time_chart(age, "seconds")
        st.markdown("**API latency, GET recommendations (ms)**")
        lat = []
        for (_, a), (_, b) in zip(history, history[1:]):
            la, lb = a["api"]["latency"].get(RECS), b["api"]["latency"].get(RECS)
            q50, q95 = window_quantiles(lb["bounds_s"], la["counts"], lb["counts"]) if la and lb else (None, None)
            lat.append({"p50": float("nan") if q50 is None else q50 * 1000,
                        "p95": float("nan") if q95 is None else q95 * 1000})
        time_chart(pd.DataFrame(lat, index=times[1:]), "milliseconds", height=200)

    for w in workers:
        if w.get("drift"):
            st.warning(f"Model drift on worker **{w['worker_id']}**: {w['drift']}.",
                       icon=":material/trending_up:")

    st.markdown("**Workers**")
    if workers:
        st.dataframe(pd.DataFrame([{
            "worker": w["worker_id"], "state": "STALLED" if w["stalled"] else w["state"],
            "reason": w["reason"] or "", "heartbeat age (s)": round(w["heartbeat_age_s"], 1),
            "lag": w["total_lag"], "per partition": ", ".join(f"{p}:{n}" for p, n in w["lag"].items()),
            "stored": w["events_stored"], "learned": w["events_learned"],
            "dead letters": w["dead_letters"], "model": w["model_version"],
        } for w in workers]), hide_index=True, width="stretch")
    st.markdown("**Recent dead letters**")
    if stats["recent_dead_letters"]:
        st.dataframe(pd.DataFrame([{"at": d["at"][:19].replace("T", " "), "error": d["error"],
                                    "stage": d["stage"], "where": f"{d['topic']}[{d['partition']}]@{d['offset']}",
                                    "message": d["preview"]} for d in stats["recent_dead_letters"]]),
                     hide_index=True, width="stretch")
    else:
        st.caption("none")


live()
