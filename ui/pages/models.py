"""Models: the registry's versions and quality, what each worker serves, promote / roll back,
and one user's list from the champion beside another version."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from ui.charts import time_chart
from ui.common import ApiError, attempt, get_client, page_header
from ui.logic import served_version

client = get_client()
page_header("Models")

registry = attempt("read the model registry", client.models)
if registry is None:
    st.stop()
versions: list[dict[str, Any]] = registry["versions"]
champion = registry.get("champion")
if not versions:
    st.info("No model is registered yet: run `reelstream retrain` (or wait for the nightly DAG).")
    st.stop()

stats = attempt("read what the workers serve", client.stream_stats)
serving = {w["worker_id"]: w["model_version"] for w in (stats or {}).get("workers", [])}
st.caption(f"registered model **{registry['name']}** · {len(versions)} version(s) · MLflow holds "
           "the runs, artifacts and full history")
a, b = st.columns(2)
a.metric("Champion", f"v{champion}" if champion else "none")
b.metric("Workers reporting", len(serving))
off = {w: m for w, m in serving.items() if served_version(m) != champion}
if off:
    st.warning("Not every worker serves the champion v{}: {}".format(
        champion, ", ".join(f"{w} serves {m or 'no batch model'}" for w, m in off.items())), icon=":material/warning:")
elif serving:
    st.success(f"Every worker serves champion v{champion} (+ online updates).", icon=":material/check_circle:")


LIVE_REFRESH_S = 5.0
LIVE_WINDOW = 120  # snapshots kept: ten minutes at one every five seconds


@st.fragment(run_every=LIVE_REFRESH_S)
def live_comparison() -> None:
    """Champion and shadow challenger on today's traffic (test-then-learn, ``GET /models/live``)."""
    st.markdown("**On the live stream: champion and challenger**")
    try:
        live = client.models_live()
    except ApiError as exc:
        st.caption(f"live figures unavailable: {exc}")
        return
    roles = live.get("roles", {})
    if not roles:
        st.caption("No worker reports live figures yet (REELSTREAM_LIVE_EVAL).")
        return
    history: list[tuple[float, dict]] = st.session_state.setdefault("models_live_history", [])
    history.append((time.time(), roles))
    del history[:-LIVE_WINDOW]
    window = max(r["window"] for r in roles.values())
    st.caption(f"last {window:,} events: " + ", ".join(
        f"{role} ({r['version']}) HR@10 {r['hr@10']:.3f}, NDCG@10 {r['ndcg@10']:.3f}, "
        f"RMSE {r['rmse']:.3f}" for role, r in roles.items()))
    st.dataframe(pd.DataFrame([{
        "role": role, "model": r["version"], "events seen": r["events"], "window": r["window"],
        "HR@10": round(r["hr@10"], 4), "NDCG@10": round(r["ndcg@10"], 4),
        "RMSE": round(r["rmse"], 4), "MAE": round(r["mae"], 4), "drifts": r.get("drifts", 0),
    } for role, r in roles.items()]), hide_index=True, width="stretch")
    times = [datetime.fromtimestamp(t, UTC) for t, _ in history]
    left, right = st.columns(2)
    with left:
        st.markdown("HR@10 over the window (share of events)")
        time_chart(pd.DataFrame([{role: r["hr@10"] for role, r in rs.items()} for _, rs in history],
                                index=times), "HR@10", value_format=".3f")
    with right:
        st.markdown("RMSE over the window (stars)")
        time_chart(pd.DataFrame([{role: r["rmse"] for role, r in rs.items()} for _, rs in history],
                                index=times), "RMSE (stars)", value_format=".3f")



def _fmt(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


table = pd.DataFrame([{
    "version": f"v{v['version']}",
    "aliases": ", ".join(v["aliases"]),
    "trained at": v["created_at"][:19].replace("T", " "),
    "data interval": f"{(v.get('data_start') or '?')[:10]} → {(v.get('data_end') or v.get('data_interval_end') or '?')[:10]}",
    "ratings": int(v["n_ratings"]) if v.get("n_ratings") else None,
    "NDCG@10": _fmt(v["metrics"].get("ndcg_at_10")),
    "Recall@10": _fmt(v["metrics"].get("recall_at_10")),
    "RMSE": _fmt(v["metrics"].get("rmse")),
    "coverage": _fmt(v["metrics"].get("coverage"), 3),
    "pop. percentile": _fmt(v["metrics"].get("popularity_percentile"), 3),
    "served by": ", ".join(w for w, m in serving.items() if served_version(m) == v["version"]),
} for v in versions])
st.dataframe(table, hide_index=True, width="stretch")

st.markdown("**Quality of successive versions**")
quality = pd.DataFrame(
    [{"NDCG@10": v["metrics"].get("ndcg_at_10"), "Recall@10": v["metrics"].get("recall_at_10")}
     for v in reversed(versions)],
    index=[int(v["version"]) for v in reversed(versions)],
)
st.line_chart(quality, height=220, x_label="version", y_label="score (0-1)")

st.markdown("**Change the champion**")
with st.form("champion_form"):
    others = [v["version"] for v in versions if v["version"] != champion]
    target = st.selectbox("Promote version", others, format_func=lambda v: f"v{v}") if others else None
    action = st.radio("Action", ["Promote the selected version", "Roll back to the previous champion"],
                      key="champion_action")
    key = st.text_input("API key (needed to change the champion)", type="password")
    confirmed = st.checkbox("I understand every worker switches to this model now")
    submitted = st.form_submit_button("Apply")
if submitted:
    if not confirmed:
        st.warning("Tick the confirmation first.")
    elif not key.strip():
        st.warning("Type the API key: changing the champion needs it (the app's own key is "
                   "never used for this).")
    else:
        try:
            if action.startswith("Promote"):
                if target is None:
                    raise ApiError("there is no other version to promote")
                result = client.promote(target, key=key)
            else:
                result = client.rollback(key=key)
        except ApiError as exc:
            st.error(f"Not changed: {exc}", icon=":material/warning:")
        else:
            st.success(f"Champion is now v{result['champion']} "
                       f"({result.get('workers_notified') or 0} worker(s) notified).", icon=":material/check_circle:")

st.markdown("**One user, two versions**")
u, v = st.columns(2)
user_id = int(u.number_input("User id", min_value=1, max_value=2**31 - 1, value=1, step=1, key="cmp_user"))
choices = [x["version"] for x in versions]
other = v.selectbox("Compare the champion with", choices, key="cmp_version",
                    index=next((i for i, x in enumerate(choices) if x != champion), 0), format_func=lambda x: f"v{x}")
left, right = st.columns(2)
for column, version, label in ((left, champion, "champion"), (right, other, "selected")):
    with column:
        if version is None:
            st.info("No champion yet.")
            continue
        st.markdown(f"*v{version}* ({label})")
        ranked = attempt(f"score user {user_id} with v{version}",
                         lambda version=version: client.version_recommendations(version, user_id, 10))
        if ranked:
            if not ranked["known_user"]:
                st.caption("this version never saw the user: its most popular movies")
            st.dataframe(pd.DataFrame([{"title": i.get("title"), "score": round(float(i["score"]), 3)}
                                       for i in ranked["items"]]), hide_index=True, width="stretch")

live_comparison()
