"""Popular now: what the recent stream is rating, next to the all-time favourites."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui.common import attempt, get_client, page_header

client = get_client()
page_header("Popular now")
n = st.slider("How many", 5, 50, 20, step=5, key="popular_n")
recent, all_time = st.columns(2, gap="large")
with recent:
    st.subheader("Trending in the stream")
    trending = attempt("load the trending list", lambda: client.popular(n))
    if trending:
        st.caption(f"decayed popularity over recent ratings · model {trending.get('model_version') or '—'}"
                   f" · computed {trending.get('updated_at') or '—'}")
        st.dataframe(pd.DataFrame([{"#": k, "title": i.get("title"), "genres": ", ".join(i.get("genres") or []),
                                    "trend score": round(float(i["score"]), 2)}
                                   for k, i in enumerate(trending["items"], 1)]),
                     hide_index=True, width="stretch")
with all_time:
    st.subheader("All-time most rated")
    top = attempt("load the all-time list", lambda: client.all_time_popular(n))
    if top:
        st.caption("rating counts over every stored event")
        st.dataframe(pd.DataFrame([{"#": k, "title": i.get("title"), "genres": ", ".join(i.get("genres") or []),
                                    "ratings": i["ratings_count"]}
                                   for k, i in enumerate(top["items"], 1)]),
                     hide_index=True, width="stretch")
